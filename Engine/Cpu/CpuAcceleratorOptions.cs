namespace GanEngine.Accelerators.Cpu;

/// <summary>Options of the <see cref="CpuAccelerator"/>.</summary>
/// <param name="Deterministic">Run the blocks of every launch in order on the calling thread, so that
/// results that depend on execution order (float atomics, races) are reproducible bit for bit.</param>
/// <param name="WorkerCount">How many OS threads a launch spreads its blocks over (when not
/// deterministic); defaults to <see cref="Environment.ProcessorCount"/>.</param>
public sealed record CpuAcceleratorOptions(bool Deterministic = false, int WorkerCount = 0)
{
    /// <summary>Non-deterministic, one worker per core.</summary>
    public static CpuAcceleratorOptions Default { get; } = new();

    /// <summary>Blocks in order on the calling thread.</summary>
    public static CpuAcceleratorOptions DeterministicDefault { get; } = new(Deterministic: true);

    /// <summary><see cref="WorkerCount"/>, with 0 meaning <see cref="Environment.ProcessorCount"/>.</summary>
    public int EffectiveWorkerCount => WorkerCount > 0 ? WorkerCount : Environment.ProcessorCount;
}
