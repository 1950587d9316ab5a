using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace GanEngine.Accelerators;

/// <summary>
/// Opt-in per-kernel profile (<c>GANENGINE_PROFILE=1</c>): time, launches and kernel threads per kernel,
/// printed to standard error, largest total first, when the process exits. The CPU accelerator runs
/// launches inline and reports wall time; CUDA brackets each launch with two events and reports device
/// time (the events are resolved at exit, so profiling adds no synchronisation to the run, only the
/// event records). Kernels are keyed by name and launch shape, so the layers of a network stand apart.
/// </summary>
public static class LaunchProfile
{
    /// <summary>Most launches whose events are kept (a bound on memory and event handles).</summary>
    public const int MaxPending = 200_000;

    private static readonly ConcurrentDictionary<string, Entry> s_entries = new();
    private static readonly ConcurrentQueue<(string Key, long Threads, AcceleratorEvent Start, AcceleratorEvent End)> s_pending = new();
    private static int s_pendingCount;
    private static bool s_printed;

    /// <summary>Whether launches are profiled in this process.</summary>
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("GANENGINE_PROFILE") is "1" or "true";

    static LaunchProfile()
    {
        if (Enabled)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                if (!s_printed)
                {
                    Console.Error.Write(Report());
                }
            };
        }
    }

    /// <summary>The key of a launch: kernel name and grid x block.</summary>
    public static string Key(string kernel, in Kernels.LaunchConfig config) =>
        string.Create(CultureInfo.InvariantCulture, $"{kernel} <{config.Grid.X}x{config.Grid.Y}x{config.Grid.Z}, {config.Block.X}x{config.Block.Y}x{config.Block.Z}>");

    /// <summary>Adds a launch measured on the host.</summary>
    public static void Add(string key, double milliseconds, long threads)
    {
        var e = s_entries.GetOrAdd(key, _ => new Entry());
        lock (e)
        {
            e.Launches++;
            e.Milliseconds += milliseconds;
            e.Threads += threads;
        }
    }

    /// <summary>Adds a launch bracketed by two device events (resolved at <see cref="Report"/>). False when the bound is reached.</summary>
    public static bool AddPending(string key, long threads, AcceleratorEvent start, AcceleratorEvent end)
    {
        if (Interlocked.Increment(ref s_pendingCount) > MaxPending)
        {
            return false;
        }
        s_pending.Enqueue((key, threads, start, end));
        return true;
    }

    /// <summary>Writes the table to standard error now (while the accelerators are alive) instead of at exit.</summary>
    public static void Print()
    {
        s_printed = true;
        Console.Error.Write(Report());
    }

    /// <summary>The table so far (waits for pending device events).</summary>
    public static string Report()
    {
        while (s_pending.TryDequeue(out var p))
        {
            try
            {
                p.End.Synchronize();
                Add(p.Key, AcceleratorEvent.ElapsedMilliseconds(p.Start, p.End), p.Threads);
            }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
            {
                // The accelerator was disposed before exit: its launches cannot be timed any more.
            }
        }
        var sb = new StringBuilder();
        var rows = s_entries.OrderByDescending(p => p.Value.Milliseconds).ToList();
        double total = rows.Sum(r => r.Value.Milliseconds);
        sb.AppendLine(CultureInfo.InvariantCulture, $"launch profile: {total:F1} ms in {rows.Sum(r => r.Value.Launches)} launches");
        sb.AppendLine("| kernel <grid, block> | launches | total ms | share | us/launch | ns/thread |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, e) in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {e.Launches} | {e.Milliseconds:F2} | {e.Milliseconds / total:P1} | {e.Milliseconds * 1000 / e.Launches:F1} | {e.Milliseconds * 1e6 / Math.Max(1, e.Threads):F2} |");
        }
        return sb.ToString();
    }

    private sealed class Entry
    {
        public long Launches;
        public double Milliseconds;
        public long Threads;
    }
}
