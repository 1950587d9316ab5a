using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GanEngine.Bench;

/// <summary>Prints results as a Markdown table and writes them as JSON (the same fields as
/// tools/peer/torch_peer.py, so tools/device/gpu-run.sh can join the two).</summary>
internal static class ResultTable
{
    public static string Format(IReadOnlyList<BenchResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| name | shape | time ms (median) | rate | check error | check |");
        text.AppendLine("| --- | --- | ---: | ---: | ---: | --- |");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.Shape} | {r.MedianMs:F4} | {r.Rate:F1} {r.Unit} | {r.Error:E2} | {r.Outcome} |");
        }
        return text.ToString().TrimEnd();
    }

    public static void WriteJson(string path, string device, BenchOptions options, IReadOnlyList<BenchResult> results)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("tool", "GanEngine.Bench");
        json.WriteString("device", device);
        json.WriteString("command", "GanEngine.Bench " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)));
        json.WriteNumber("reps", options.Reps);
        json.WriteNumber("warmup", options.Warmup);
        json.WriteStartArray("results");
        foreach (var r in results)
        {
            json.WriteStartObject();
            json.WriteString("name", r.Name);
            json.WriteString("shape", r.Shape);
            WriteNumber(json, "median_ms", r.MedianMs);
            WriteNumber(json, "rate", r.Rate);
            json.WriteString("unit", r.Unit);
            WriteNumber(json, "error", r.Error);
            WriteNumber(json, "tolerance", r.Tolerance);
            json.WriteBoolean("passed", r.Passed);
            json.WriteString("note", r.Skipped is null ? r.Note : "skipped: " + r.Skipped);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    // JSON has no NaN: write null for a value that was not measured.
    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
