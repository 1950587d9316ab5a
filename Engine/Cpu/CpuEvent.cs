using System.Diagnostics;

namespace GanEngine.Accelerators.Cpu;

/// <summary>
/// An event of a <see cref="CpuStream"/>. CPU streams run each operation to completion when it is
/// enqueued, so an event is complete as soon as it is recorded; it holds the host time
/// (<see cref="Stopwatch"/>) of that moment.
/// </summary>
public sealed class CpuEvent : AcceleratorEvent
{
    private readonly CpuAccelerator _accelerator;

    internal CpuEvent(CpuAccelerator accelerator, long timestamp)
    {
        _accelerator = accelerator;
        Timestamp = timestamp;
    }

    /// <summary><see cref="Stopwatch.GetTimestamp"/> when the event was recorded.</summary>
    public long Timestamp { get; }

    /// <inheritdoc/>
    public override bool IsComplete => true;

    /// <inheritdoc/>
    public override void Synchronize() => _accelerator.CountHostSynchronization();

    /// <inheritdoc/>
    protected override float MillisecondsSince(AcceleratorEvent start)
    {
        if (start is not CpuEvent cpuStart)
        {
            throw new ArgumentException($"Cannot time a {start.GetType().Name} against a CPU event: both events must come from the same accelerator.", nameof(start));
        }
        return (float)Stopwatch.GetElapsedTime(cpuStart.Timestamp, Timestamp).TotalMilliseconds;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
    }
}
