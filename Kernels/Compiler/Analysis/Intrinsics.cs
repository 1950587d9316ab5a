using Microsoft.CodeAnalysis;

namespace GanEngine.Kernels.Compiler.Analysis
{
    internal enum IntrinsicKind
    {
        None,
        Barrier,
        WarpCollective,
        MmaCollective,
        MmaScalar,
        Atomic,
        Math,
        SharedAllocate,
        SharedDynamic,
        AsyncCopy,
        Wgmma,
    }

    /// <summary>Recognises the kernel-language intrinsics by their declaring type.</summary>
    internal static class Intrinsics
    {
        public const string Ns = "GanEngine.Kernels";

        public static string FullName(ITypeSymbol? type) =>
            type == null ? "" : type.OriginalDefinition.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat);

        public static IntrinsicKind Classify(IMethodSymbol method)
        {
            string type = FullName(method.ContainingType);
            switch (type)
            {
                case Ns + ".Group":
                    return method.Name == "Barrier" ? IntrinsicKind.Barrier : IntrinsicKind.None;
                case Ns + ".Warp":
                    return IntrinsicKind.WarpCollective;
                case Ns + ".Mma":
                    return method.Name is "Tf32M16N8K8" or "Bf16M16N8K16" ? IntrinsicKind.MmaCollective : IntrinsicKind.MmaScalar;
                case Ns + ".Atomic":
                    return IntrinsicKind.Atomic;
                case Ns + ".KMath":
                    return IntrinsicKind.Math;
                case Ns + ".AsyncCopy":
                    return IntrinsicKind.AsyncCopy;
                case Ns + ".Wgmma":
                    return IntrinsicKind.Wgmma;
                case Ns + ".Shared":
                    return method.Name == "Allocate" ? IntrinsicKind.SharedAllocate : IntrinsicKind.SharedDynamic;
                default:
                    return IntrinsicKind.None;
            }
        }

        public static bool IsCollective(IntrinsicKind kind) =>
            kind is IntrinsicKind.Barrier or IntrinsicKind.WarpCollective or IntrinsicKind.MmaCollective;

        /// <summary>ArrayView, ReadOnlyView, SharedView or Span element views.</summary>
        public static ViewKind GetViewKind(ITypeSymbol? type)
        {
            if (type is not INamedTypeSymbol named || !named.IsGenericType)
            {
                return ViewKind.None;
            }
            switch (FullName(named))
            {
                case Ns + ".ArrayView<T>": return ViewKind.Array;
                case Ns + ".ReadOnlyView<T>": return ViewKind.ReadOnly;
                case Ns + ".SharedView<T>": return ViewKind.Shared;
                case "System.Span<T>":
                case "System.ReadOnlySpan<T>": return ViewKind.Span;
                default: return ViewKind.None;
            }
        }

        public static ITypeSymbol ElementType(ITypeSymbol viewType) => ((INamedTypeSymbol)viewType).TypeArguments[0];

        public static bool IsScalar(ITypeSymbol type) => type.SpecialType is
            SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64 or
            SpecialType.System_Single or SpecialType.System_Double or SpecialType.System_Int16 or SpecialType.System_UInt16 or
            SpecialType.System_Byte or SpecialType.System_SByte;

        /// <summary>A plain struct whose instance fields are scalars or plain structs.</summary>
        public static bool IsPlainStruct(ITypeSymbol type, int depth = 0)
        {
            if (depth > 8 || type.TypeKind != TypeKind.Struct || type.SpecialType != SpecialType.None || type is not INamedTypeSymbol named || named.IsGenericType)
            {
                return false;
            }
            foreach (var member in type.GetMembers())
            {
                if (member is IFieldSymbol { IsStatic: false } field && !(IsScalar(field.Type) || IsPlainStruct(field.Type, depth + 1)))
                {
                    return false;
                }
            }
            return GetViewKind(type) == ViewKind.None;
        }
    }

    internal enum ViewKind
    {
        None,
        Array,
        ReadOnly,
        Shared,
        Span,
    }
}
