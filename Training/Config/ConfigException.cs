using System.Text;

namespace GanEngine.Training.Config;

/// <summary>
/// One problem of a run configuration: where it is (source, line, column; 0 when the value did not come
/// from the text, e.g. it came from a preset), which key (dotted path such as <c>optim.g.lr</c>; empty
/// for the whole document) and what is wrong.
/// </summary>
public sealed record ConfigDiagnostic(string SourceName, int Line, int Column, string KeyPath, string Problem)
{
    /// <summary>Compiler style: <c>file:line:col: key.path: problem</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(SourceName);
        if (Line > 0)
        {
            sb.Append(':').Append(Line).Append(':').Append(Column);
        }
        sb.Append(": ");
        if (KeyPath.Length > 0)
        {
            sb.Append(KeyPath).Append(": ");
        }
        sb.Append(Problem);
        return sb.ToString();
    }
}

/// <summary>
/// A configuration that cannot be used. The message has one line per problem, each naming the source
/// file, line and column, the key path and the problem; <see cref="Diagnostics"/> has them one by one.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException()
        : this("invalid configuration")
    {
    }

    public ConfigException(string message)
        : base(message)
    {
        Diagnostics = [new ConfigDiagnostic("<config>", 0, 0, "", message)];
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Diagnostics = [new ConfigDiagnostic("<config>", 0, 0, "", message)];
    }

    public ConfigException(IReadOnlyList<ConfigDiagnostic> diagnostics, Exception? innerException = null)
        : base(Format(diagnostics), innerException)
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Every problem found (at least one).</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; }

    /// <summary>The first problem's source name (file path, or the name given to <see cref="ConfigLoader.Parse"/>).</summary>
    public string SourceName => Diagnostics[0].SourceName;

    /// <summary>The first problem's line (1-based; 0 when it has no place in the text).</summary>
    public int Line => Diagnostics[0].Line;

    /// <summary>The first problem's column (1-based; 0 when it has no place in the text).</summary>
    public int Column => Diagnostics[0].Column;

    /// <summary>The first problem's key path, e.g. <c>optim.g.lr</c>.</summary>
    public string KeyPath => Diagnostics[0].KeyPath;

    private static string Format(IReadOnlyList<ConfigDiagnostic> diagnostics)
    {
        if (diagnostics.Count == 0)
        {
            throw new ArgumentException("a ConfigException needs at least one diagnostic", nameof(diagnostics));
        }
        return diagnostics.Count == 1
            ? diagnostics[0].ToString()
            : $"{diagnostics.Count} problems in the configuration:\n" + string.Join('\n', diagnostics);
    }
}
