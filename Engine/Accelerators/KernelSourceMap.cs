using System.Text.RegularExpressions;

namespace GanEngine.Accelerators;

/// <summary>
/// Maps lines of generated kernel source back to the C# file and line they came from, through the
/// <c>#line</c> directives the generator writes. Compilers that honour <c>#line</c> (NVRTC, PoCL) report
/// C# locations themselves; NVIDIA's OpenCL compiler does not (it says <c>&lt;kernel&gt;:3:24</c>), so its
/// build logs are rewritten here.
/// </summary>
public static partial class KernelSourceMap
{
    /// <summary>The C# location of 1-based line <paramref name="generatedLine"/> of <paramref name="source"/>,
    /// or null when no <c>#line</c> directive precedes it.</summary>
    public static (string File, int Line)? Locate(string source, int generatedLine)
    {
        ArgumentNullException.ThrowIfNull(source);
        string? file = null;
        int next = 0;
        int current = 0;
        foreach (var line in source.AsSpan().EnumerateLines())
        {
            current++;
            if (current == generatedLine)
            {
                return file is null ? null : (file, next);
            }
            var match = LineDirective().Match(line.ToString());
            if (match.Success)
            {
                next = int.Parse(match.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
                file = match.Groups[2].Value;
            }
            else
            {
                next++;
            }
        }
        return null;
    }

    /// <summary>Rewrites <c>&lt;kernel&gt;:LINE:COLUMN</c> locations in a build log to <c>File.cs:LINE:COLUMN</c>
    /// (the generated location kept in brackets).</summary>
    public static string MapBuildLog(string source, string log)
    {
        ArgumentNullException.ThrowIfNull(log);
        return AnonymousLocation().Replace(log, match =>
        {
            int line = int.Parse(match.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
            var location = Locate(source, line);
            return location is { } at ? $"{at.File}:{at.Line}:{match.Groups[2].Value} [{match.Value}]" : match.Value;
        });
    }

    [GeneratedRegex("""^\s*#line\s+(\d+)\s+"([^"]*)"\s*$""")]
    private static partial Regex LineDirective();

    [GeneratedRegex("""<(?:kernel|source)>:(\d+):(\d+)""")]
    private static partial Regex AnonymousLocation();
}
