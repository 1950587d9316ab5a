using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace GanEngine.Kernels.Compiler
{
    /// <summary>An immutable array with value equality, so that incremental steps cache.</summary>
    internal readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IEnumerable<T>
        where T : IEquatable<T>
    {
        private readonly ImmutableArray<T> _items;

        public EquatableArray(ImmutableArray<T> items) => _items = items;

        public ImmutableArray<T> Items => _items.IsDefault ? ImmutableArray<T>.Empty : _items;

        public bool Equals(EquatableArray<T> other) => Items.SequenceEqual(other.Items);

        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        public override int GetHashCode()
        {
            int hash = 17;
            foreach (var item in Items)
            {
                hash = (hash * 31) + (item?.GetHashCode() ?? 0);
            }
            return hash;
        }

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>A diagnostic as plain data (Location is not cache-friendly).</summary>
    internal sealed record DiagnosticInfo(string Id, string Message, string FilePath, TextSpan Span, LinePositionSpan LineSpan)
    {
        public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, Location location, string message)
        {
            var line = location.GetLineSpan();
            return new DiagnosticInfo(descriptor.Id, message, line.Path ?? "", location.SourceSpan, line.Span);
        }

        public Diagnostic ToDiagnostic() =>
            Diagnostic.Create(Diagnostics.ById(Id), Location.Create(FilePath, Span, LineSpan), Message);
    }

    /// <summary>Everything generated for one kernel, as strings: the incremental cache compares these.</summary>
    internal sealed record KernelModel(
        string Namespace,
        string ClassName,
        string KernelName,
        string HintName,
        string CSharpSource,
        string DefinitionReference,
        EquatableArray<DiagnosticInfo> Diagnostics);
}
