using GanEngine.Accelerators;
using GanEngine.Kernels;

namespace GanEngine.Ops;

/// <summary>Which kernels a convolution op (<see cref="Conv2d"/>, <see cref="ConvTranspose2d"/>) runs.</summary>
public enum ConvAlgorithm
{
    /// <summary><see cref="ConvSettings.Algorithm"/> when that is not <see cref="Auto"/>; otherwise <see cref="Direct"/> on the
    /// CPU accelerator and <see cref="ImplicitGemm"/> on CUDA and OpenCL.</summary>
    Auto,

    /// <summary>Implicit GEMM (<c>ConvImplicitGemm</c>): shared-memory tiles, tensor cores under <see cref="MathMode.Tf32"/>
    /// (emulated on the CPU and OpenCL), deterministic split-K workspaces. The GPU algorithm.</summary>
    ImplicitGemm,

    /// <summary>Direct loops (<c>ConvDirect</c>): one thread per output element, no shared memory and no barriers, so the CPU
    /// accelerator runs it as an independent kernel (a plain call per thread). Always strict FP32: <see cref="MathMode.Tf32"/>
    /// is not emulated, and workspaces are not used. Deterministic. Correct everywhere, slow on GPUs.</summary>
    Direct,
}

/// <summary>Process-wide convolution settings.</summary>
public static class ConvSettings
{
    /// <summary>Name of the environment variable read at start-up: <c>direct</c>, <c>implicit-gemm</c> or <c>auto</c> (unset: auto).</summary>
    public const string EnvironmentVariable = "GANENGINE_CONV_ALGO";

    /// <summary>The algorithm that <see cref="ConvAlgorithm.Auto"/> resolves to when it is not itself <see cref="ConvAlgorithm.Auto"/>
    /// (for tests and benchmarks). Starts from <see cref="EnvironmentVariable"/>.</summary>
    public static ConvAlgorithm Algorithm { get; set; } = Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary><c>direct</c>, <c>implicit-gemm</c> (or <c>implicitgemm</c>, <c>igemm</c>), <c>auto</c> or empty; case-insensitive.</summary>
    public static ConvAlgorithm Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => ConvAlgorithm.Auto,
        "direct" => ConvAlgorithm.Direct,
        "implicit-gemm" or "implicitgemm" or "igemm" => ConvAlgorithm.ImplicitGemm,
        _ => throw new ArgumentException($"{EnvironmentVariable}: unknown convolution algorithm '{text}' (direct, implicit-gemm or auto)", nameof(text)),
    };

    /// <summary>Name of the environment variable that sets <see cref="AsyncRing"/> (0, or 2 to 8).</summary>
    public const string RingVariable = "GANENGINE_CONV_RING";

    /// <summary>How the TF32 implicit GEMM stages its K tiles where its fast gather applies (geometry compiled in: CUDA and the CPU
    /// accelerator): 0 through registers into two shared stages (operands rounded to tf32), 2 to 8 a ring of that many shared stages
    /// filled by cp.async (no staging registers; operands truncated to tf32 by the tensor cores). Starts from
    /// <see cref="RingVariable"/>, else the measured default (docs/benchmarks-notes-conv.md, "cp.async").</summary>
    public static int AsyncRing
    {
        get => _ring;
        set => _ring = value is 0 or (>= 2 and <= 8) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "0 (registers) or 2 to 8 stages");
    }

    private const int DefaultRing = 0;

    private static int _ring = ParseRing(Environment.GetEnvironmentVariable(RingVariable));

    private static int ParseRing(string? text) =>
        string.IsNullOrWhiteSpace(text) ? DefaultRing :
        int.TryParse(text, out int v) && v is 0 or (>= 2 and <= 8) ? v :
        throw new ArgumentException($"{RingVariable}: '{text}' is not 0 (registers) or a stage count from 2 to 8", nameof(text));

    /// <summary>Name of the environment variable that sets <see cref="Warpgroup"/>: <c>auto</c>, <c>off</c> or <c>force</c>.</summary>
    public const string WarpgroupVariable = "GANENGINE_CONV_WGMMA";

    /// <summary>Whether the 256x128 TF32 tile of the forward and dgrad forms runs on warpgroup MMA
    /// (<c>ConvImplicitGemm.Tf32Wg</c>, <c>wgmma</c>) instead of <c>mma.sync</c>: <see cref="WarpgroupUse.Auto"/> where the
    /// instruction exists (CUDA devices of compute capability 9.0); <see cref="WarpgroupUse.Force"/> also on the CPU
    /// accelerator and OpenCL, which emulate it (for tests). Starts from <see cref="WarpgroupVariable"/>.</summary>
    public static WarpgroupUse Warpgroup { get; set; } = ParseWarpgroup(Environment.GetEnvironmentVariable(WarpgroupVariable));

    /// <summary>Name of the environment variable that sets <see cref="WarpgroupRing"/>: 0 or 1.</summary>
    public const string WarpgroupRingVariable = "GANENGINE_CONV_WG_RING";

    /// <summary>How the warpgroup kernel stages its K tiles: false, through registers into three shared stages (tf32
    /// rounded); true, by cp.async into a ring of four, two tiles ahead (truncated to tf32 by the tensor cores). Starts from
    /// <see cref="WarpgroupRingVariable"/>, else the measured default.</summary>
    public static bool WarpgroupRing { get; set; } = Environment.GetEnvironmentVariable(WarpgroupRingVariable)?.Trim() switch
    {
        null or "" => DefaultWarpgroupRing,
        "1" => true,
        "0" => false,
        var text => throw new ArgumentException($"{WarpgroupRingVariable}: '{text}' is not 0 or 1"),
    };

    /// <summary>Name of the environment variable that sets <see cref="WarpgroupVectorB"/>: 0 or 1.</summary>
    public const string WarpgroupVectorBVariable = "GANENGINE_CONV_WG_VECB";

    /// <summary>Whether the warpgroup kernel's cp.async ring copies the forward form's weights 16 bytes at a time (where the
    /// weight view starts on a 16-byte boundary) rather than 4. Starts from <see cref="WarpgroupVectorBVariable"/>, else true.</summary>
    public static bool WarpgroupVectorB { get; set; } = Environment.GetEnvironmentVariable(WarpgroupVectorBVariable)?.Trim() switch
    {
        null or "" or "1" => true,
        "0" => false,
        var text => throw new ArgumentException($"{WarpgroupVectorBVariable}: '{text}' is not 0 or 1"),
    };

    /// <summary>Name of the environment variable that sets <see cref="WavePlans"/>: 0 or 1.</summary>
    public const string WavePlansVariable = "GANENGINE_CONV_WAVE_PLANS";

    /// <summary>How shapes without a tuned plan (any width a pruned or grown layer takes) choose theirs: true (the default),
    /// the wave rule (<c>ConvLaunch.WavePlan</c>: the 256x128 tile from half a wave of blocks, otherwise 128x128 tiles with K
    /// split toward two waves in the forward and dgrad forms; small K chunks for one-tile weight gradients), which reproduces
    /// the tuned table's entries; false, the earlier heuristic (128-wide tiles, narrower below one wave, no dgrad split).
    /// Starts from <see cref="WavePlansVariable"/>.</summary>
    public static bool WavePlans { get; set; } = Environment.GetEnvironmentVariable(WavePlansVariable)?.Trim() switch
    {
        null or "" or "1" => true,
        "0" => false,
        var text => throw new ArgumentException($"{WavePlansVariable}: '{text}' is not 0 or 1"),
    };

    private const bool DefaultWarpgroupRing = true;   // H200 session 10, runs 2-4: 4.94-4.97 ms per batch-256 step vs 5.01-5.05 staged through registers

    /// <summary><c>auto</c>, <c>off</c>, <c>force</c> or empty (auto); case-insensitive.</summary>
    public static WarpgroupUse ParseWarpgroup(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => WarpgroupUse.Auto,
        "off" or "0" => WarpgroupUse.Off,
        "force" => WarpgroupUse.Force,
        _ => throw new ArgumentException($"{WarpgroupVariable}: '{text}' is not auto, off or force", nameof(text)),
    };

    /// <summary>Whether <paramref name="launcher"/> runs <c>wgmma</c> natively: a CUDA device of compute capability 9.0
    /// (the instruction is sm_90a's; later architectures have other ones).</summary>
    public static bool HasWarpgroupMma(IKernelLauncher launcher)
    {
        var info = launcher switch
        {
            Accelerator a => a.Info,
            AcceleratorStream s => s.Accelerator.Info,
            _ => null,
        };
        return info is { Kind: AcceleratorKind.Cuda, Architecture: "sm_90" };
    }

    /// <summary>Whether the warpgroup kernel runs on <paramref name="launcher"/> under <see cref="Warpgroup"/>.</summary>
    public static bool UseWarpgroup(IKernelLauncher launcher) => Warpgroup switch
    {
        WarpgroupUse.Force => true,
        WarpgroupUse.Off => false,
        _ => HasWarpgroupMma(launcher),
    };

    /// <summary>The algorithm an op given <paramref name="requested"/> runs on <paramref name="launcher"/>: an explicit request as
    /// is; <see cref="ConvAlgorithm.Auto"/> resolves to <see cref="Algorithm"/>, else to <see cref="ConvAlgorithm.Direct"/> on the
    /// CPU accelerator and <see cref="ConvAlgorithm.ImplicitGemm"/> elsewhere.</summary>
    public static ConvAlgorithm Resolve(IKernelLauncher launcher, ConvAlgorithm requested)
    {
        if (requested != ConvAlgorithm.Auto)
        {
            return requested;
        }
        if (Algorithm != ConvAlgorithm.Auto)
        {
            return Algorithm;
        }
        var kind = launcher switch
        {
            Accelerator a => a.Info.Kind,
            AcceleratorStream s => s.Accelerator.Info.Kind,
            _ => (AcceleratorKind?)null,
        };
        return kind == AcceleratorKind.Cpu ? ConvAlgorithm.Direct : ConvAlgorithm.ImplicitGemm;
    }
}

/// <summary>When the convolution's 256x128 TF32 tile runs on warpgroup MMA (<see cref="ConvSettings.Warpgroup"/>).</summary>
public enum WarpgroupUse
{
    /// <summary>Where the device has it (CUDA, compute capability 9.0).</summary>
    Auto,

    /// <summary>Never: <c>mma.sync</c> everywhere.</summary>
    Off,

    /// <summary>Always, emulated on the CPU accelerator and OpenCL (tests).</summary>
    Force,
}
