namespace GanEngine.Training.Config;

// The run configuration as the YAML file spells it (snake_case keys: `d_steps`, `log_every`, ...).
// Every value has a default, so a preset or a file only names what differs. ConfigLoader reads and
// validates it (unknown keys and wrong types are errors that name the key, file, line and column).
// A loaded file starts from a preset (Presets.cs, default `digits`), not from the initialisers below;
// those are only what `new TrainConfig()` holds. Preset values are tuned in Presets.cs.

/// <summary>A whole run: what to train on, which model, how.</summary>
public sealed class TrainConfig
{
    /// <summary>Name of the preset this config started from (informational, written into the run directory).</summary>
    public string Preset { get; set; } = "digits";

    /// <summary>Seed of everything random in the run (weights, latents, data order).</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>Accelerator: auto | cpu | cpu-deterministic | cuda[:N] | opencl[:PLATFORM].</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Conv/GEMM math: tf32 (tensor cores where present, PyTorch's cuDNN default) or fp32.</summary>
    public string Math { get; set; } = "tf32";

    public DataConfig Data { get; set; } = new();

    public ModelConfig Model { get; set; } = new();

    public LossConfig Loss { get; set; } = new();

    /// <summary>Differentiable augmentation of every image D sees (DiffAugment): off by default.</summary>
    public AugmentConfig Augment { get; set; } = new();

    public OptimConfig Optim { get; set; } = new();

    public ScheduleConfig Train { get; set; } = new();

    /// <summary>Architecture changes while training (issue 5): seed, growth, pruning.</summary>
    public ArchitectureConfig Architecture { get; set; } = new();
}

/// <summary>The data set.</summary>
public sealed class DataConfig
{
    /// <summary>digits (built in) | mnist | fashion-mnist | cifar10 | cifar100 | png-folder.</summary>
    public string Dataset { get; set; } = "digits";

    /// <summary>File or directory of the data set; not needed for digits.</summary>
    public string? Path { get; set; }

    /// <summary>all | train | test (digits: a fixed held-out fifth; IDX/CIFAR: their own files).</summary>
    public string Split { get; set; } = "train";

    /// <summary>Background batches prepared ahead of the trainer.</summary>
    public int Prefetch { get; set; } = 3;
}

/// <summary>The generator and discriminator.</summary>
public sealed class ModelConfig
{
    /// <summary>dcgan | sngan-resnet.</summary>
    public string Family { get; set; } = "dcgan";

    /// <summary>Image side in pixels (8, 16, 28, 32, 64); data is resized to it.</summary>
    public int Resolution { get; set; } = 16;

    /// <summary>Image channels (1 grey, 3 RGB); data is converted to it.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>Latent size.</summary>
    public int Latent { get; set; } = 64;

    /// <summary>G's width at its last hidden layer; DCGAN doubles it per stage towards the latent.</summary>
    public int GWidth { get; set; } = 32;

    /// <summary>D's width at its first layer; doubles per stage.</summary>
    public int DWidth { get; set; } = 32;

    /// <summary>BatchNorm in D (DCGAN; SNGAN's D uses spectral normalisation instead).</summary>
    public bool DBatchNorm { get; set; } = true;

    /// <summary>Decay of the exponential moving average of G's weights; 0 disables it.</summary>
    public float EmaDecay { get; set; } = 0.999f;

    /// <summary>Steps before the EMA starts tracking (it copies G at that step).</summary>
    public int EmaStart { get; set; }
}

/// <summary>The adversarial loss.</summary>
public sealed class LossConfig
{
    /// <summary>bce (non-saturating) | hinge | adaptive (our stage-aware BCE, docs/adaptive-loss.md).</summary>
    public string Kind { get; set; } = "bce";

    /// <summary>Target of real images in D's BCE (1: none; SP-GAN uses 0.9, one-sided label smoothing).</summary>
    public float RealTarget { get; set; } = 1f;

    /// <summary>D updates per G update.</summary>
    public int DSteps { get; set; } = 1;
}

/// <summary>
/// DiffAugment (Zhao et al. 2020): the same random, differentiable transform applied to real and generated
/// images before D, in D's and G's steps, so that D cannot memorise a small training set. Each image gets its
/// own draw, from a counter-based stream keyed by the seed and the step (a resumed run draws the same).
/// </summary>
public sealed class AugmentConfig
{
    /// <summary>Comma-separated transforms: color, translation, cutout (DiffAugment's names), or none.</summary>
    public string Policy { get; set; } = "none";

    /// <summary>Largest shift as a fraction of the image side (DiffAugment: 0.125).</summary>
    public float Translation { get; set; } = 0.125f;

    /// <summary>Side of the cutout square as a fraction of the image side (DiffAugment: 0.5).</summary>
    public float Cutout { get; set; } = 0.5f;
}

/// <summary>Adam settings of both networks.</summary>
public sealed class OptimConfig
{
    public AdamConfig G { get; set; } = new();

    public AdamConfig D { get; set; } = new();
}

/// <summary>One Adam optimizer (DCGAN's defaults).</summary>
public sealed class AdamConfig
{
    public float Lr { get; set; } = 2e-4f;

    public float Beta1 { get; set; } = 0.5f;

    public float Beta2 { get; set; } = 0.999f;

    public float Eps { get; set; } = 1e-8f;

    public float WeightDecay { get; set; }
}

/// <summary>Length of the run and what it writes when.</summary>
public sealed class ScheduleConfig
{
    /// <summary>G steps (iterations) in the run.</summary>
    public int Steps { get; set; } = 3000;

    public int Batch { get; set; } = 64;

    /// <summary>Steps between metric rows (the only host synchronisation of a step).</summary>
    public int LogEvery { get; set; } = 50;

    /// <summary>Steps between sample grids.</summary>
    public int SampleEvery { get; set; } = 500;

    /// <summary>Steps between checkpoints (also written at the end and on Ctrl-C).</summary>
    public int CheckpointEvery { get; set; } = 1000;

    /// <summary>Images in a sample grid (from a fixed latent batch).</summary>
    public int GridSamples { get; set; } = 100;
}

/// <summary>
/// A run whose widths change: start at <see cref="SeedFactor"/> of the model's widths, multiply every
/// hidden width by <see cref="GrowFactor"/> every <see cref="GrowEvery"/> steps, <see cref="GrowTimes"/>
/// times (never beyond the model's full widths), then at <see cref="PruneAt"/> remove
/// <see cref="PruneRatio"/> of the filters by L1 norm. Zeros disable growth or pruning.
/// </summary>
public sealed class ArchitectureConfig
{
    /// <summary>Starting widths as a fraction of the model's (1: full width from the start).</summary>
    public float SeedFactor { get; set; } = 1f;

    /// <summary>Steps between growth events (0: no growth).</summary>
    public int GrowEvery { get; set; }

    /// <summary>Growth events.</summary>
    public int GrowTimes { get; set; }

    /// <summary>Width multiplier per growth event.</summary>
    public float GrowFactor { get; set; } = 2f;

    /// <summary>net2wider (function preserving) | replicate (SP-GAN's kernel concatenation).</summary>
    public string GrowRule { get; set; } = "net2wider";

    /// <summary>Filters copied: all (each in turn) | l1 (highest L1 norm first).</summary>
    public string GrowSelect { get; set; } = "all";

    /// <summary>Std of the symmetry-breaking noise on copied filters (0: none).</summary>
    public float GrowNoise { get; set; } = 0.01f;

    /// <summary>Adam moments of resized tensors: copy | reset.</summary>
    public string OptimizerState { get; set; } = "copy";

    /// <summary>Step at which to prune (0: no pruning).</summary>
    public int PruneAt { get; set; }

    /// <summary>Share of filters removed.</summary>
    public float PruneRatio { get; set; } = 0.1f;

    /// <summary>layer (the ratio in every layer) | global (one ranking over all layers of a network: by
    /// <see cref="PruneThreshold"/>, else to <see cref="PruneTargetParamsG"/> / <see cref="PruneTargetParamsD"/>,
    /// else by <see cref="PruneRatio"/> of all filters).</summary>
    public string PruneScope { get; set; } = "layer";

    /// <summary>Global scope: remove every filter whose mean |w| (times |gamma| with l1-gamma) is below this (0: unused).</summary>
    public float PruneThreshold { get; set; }

    /// <summary>Global scope: remove the lowest-scored filters of G until it has at most this many parameters (0: unused).</summary>
    public int PruneTargetParamsG { get; set; }

    /// <summary>Global scope: the same target for D (0: unused).</summary>
    public int PruneTargetParamsD { get; set; }

    /// <summary>l1 | l1-gamma (L1 norm times |BatchNorm gamma|).</summary>
    public string PruneScore { get; set; } = "l1";

    /// <summary>Channels every layer keeps at least.</summary>
    public int MinWidth { get; set; } = 4;

    /// <summary>Pruned widths are rounded down to a multiple of this (at most width / 8; 1: the exact ratio),
    /// so layers keep channel counts that suit the kernels' vector loads and tiles (docs/spgan.md).</summary>
    public int PruneMultiple { get; set; } = 8;

    /// <summary>Which networks change: both | g | d.</summary>
    public string Networks { get; set; } = "both";
}
