using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace GanEngine.Accelerators.Cpu;

/// <summary>
/// Opt-in profile of CPU-accelerator launches (<c>GANENGINE_CPU_PROFILE=1</c>): wall time, launches and
/// kernel threads per kernel, printed to standard error, largest total first, when the process exits.
/// The CPU accelerator runs launches inline, so wall time per launch is the kernel's cost.
/// </summary>
internal static class CpuLaunchProfile
{
    private static readonly ConcurrentDictionary<string, Entry> s_entries = new();

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("GANENGINE_CPU_PROFILE") is "1" or "true";

    static CpuLaunchProfile()
    {
        if (Enabled)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Console.Error.Write(Report());
        }
    }

    public static void Add(string kernel, long elapsedTicks, long threads)
    {
        var e = s_entries.GetOrAdd(kernel, _ => new Entry());
        Interlocked.Increment(ref e.Launches);
        Interlocked.Add(ref e.Ticks, elapsedTicks);
        Interlocked.Add(ref e.Threads, threads);
    }

    public static string Report()
    {
        var sb = new StringBuilder();
        var rows = s_entries.OrderByDescending(p => p.Value.Ticks).ToList();
        double total = rows.Sum(r => r.Value.Ticks) / (double)Stopwatch.Frequency;
        sb.AppendLine(CultureInfo.InvariantCulture, $"CPU accelerator profile: {total:F2} s in {rows.Sum(r => r.Value.Launches)} launches");
        sb.AppendLine("| kernel | launches | total ms | us/launch | ns/thread |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, e) in rows)
        {
            double ms = e.Ticks * 1000.0 / Stopwatch.Frequency;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {e.Launches} | {ms:F1} | {ms * 1000 / e.Launches:F1} | {ms * 1e6 / Math.Max(1, e.Threads):F1} |");
        }
        return sb.ToString();
    }

    private sealed class Entry
    {
        public long Launches;
        public long Ticks;
        public long Threads;
    }
}
