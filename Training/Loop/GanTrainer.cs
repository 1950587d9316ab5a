using GanEngine.Accelerators;
using GanEngine.Nn;
using GanEngine.Ops;
using GanEngine.Ops.Augment;
using GanEngine.Ops.Optim;
using GanEngine.Ops.Rng;
using GanEngine.Tensors;
using GanEngine.Training.Config;
using GanEngine.Training.Models;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Loop;

/// <summary>The values of one step, read from the device when asked (a host synchronisation).</summary>
public readonly record struct StepValues(float LossD, float LossG, float RealScore, float FakeScore);

/// <summary>
/// One GAN: G, D, the EMA of G, their Adam optimizers and the random streams, and the training iteration
/// (n D steps on real and fake batches, then one G step). A step only enqueues work: nothing waits for
/// the device unless the caller reads values (<see cref="ReadValues"/>), samples, or checkpoints.
/// Random numbers come from counter-based streams whose offsets are host state, so a run restored from a
/// checkpoint draws exactly what the uninterrupted run would have drawn.
/// </summary>
public sealed class GanTrainer : IDisposable
{
    // Independent Philox streams of one seed: weights, training latents. Keys differ by these salts.
    private const ulong LatentSalt = 0x6c61_7465_6e74_7331;
    private const ulong AugmentSalt = 0x6175_676d_656e_7431;

    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private Tensor? _lastValues;
    private long _standingStatisticsStep = -1;

    /// <summary>Training-mode forwards that re-estimate the EMA generator's BatchNorm statistics before it samples.</summary>
    public const int StandingPasses = 16;

    /// <summary>Latents per standing-statistics forward.</summary>
    public const int StandingBatch = 256;

    public GanTrainer(TrainConfig config, Accelerator accelerator)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        _accelerator = accelerator ?? throw new ArgumentNullException(nameof(accelerator));
        _stream = accelerator.DefaultStream;
        Math = config.Math == "fp32" ? MathMode.StrictFp32 : MathMode.Tf32;
        var init = new InitContext(accelerator, config.Seed, _stream);
        var model = SeedModel(config);
        G = GanModels.CreateGenerator(model, init);
        D = GanModels.CreateDiscriminator(model, init);
        if (config.Model.EmaDecay > 0f)
        {
            var copy = GanModels.CreateGenerator(model, new InitContext(accelerator, config.Seed ^ 0xE3A, _stream));
            Ema = new ExponentialMovingAverage(G, copy, config.Model.EmaDecay);
        }
        GOptimizer = new Adam(G.Parameters(), Hyper(config.Optim.G));
        DOptimizer = new Adam(D.Parameters(), Hyper(config.Optim.D));
        Loss = GanLosses.Create(config);
        Latents = new PhiloxGenerator(config.Seed ^ LatentSalt);
        Augmentation = DiffAugmentPolicy.Parse(config.Augment.Policy ?? "", config.Augment.Translation, config.Augment.Cutout);
    }

    public TrainConfig Config { get; }

    public MathMode Math { get; }

    public Generator G { get; }

    public Discriminator D { get; }

    /// <summary>The averaged generator, or null when the config disables it.</summary>
    public ExponentialMovingAverage? Ema { get; }

    public Adam GOptimizer { get; private set; }

    public Adam DOptimizer { get; private set; }

    /// <summary>The adversarial loss (replaceable: issue 5's stage-aware loss plugs in here).</summary>
    public IGanLoss Loss { get; set; }

    /// <summary>The DiffAugment transforms applied to every image D sees in training (identity: none).</summary>
    public DiffAugmentPolicy Augmentation { get; }

    /// <summary>The stream of training latents (its offset is checkpointed).</summary>
    public PhiloxGenerator Latents { get; private set; }

    /// <summary>G steps completed.</summary>
    public long Step { get; private set; }

    /// <summary>
    /// One iteration: <see cref="LossConfig.DSteps"/> D updates, each on a fresh real batch from
    /// <paramref name="nextRealBatch"/> and a fresh fake batch, then one G update, then the EMA.
    /// With <paramref name="keepValues"/> the step's losses and mean D scores stay on the device for
    /// <see cref="ReadValues"/>.
    /// </summary>
    public void TrainStep(Func<Tensor> nextRealBatch, bool keepValues = false)
    {
        ArgumentNullException.ThrowIfNull(nextRealBatch);
        int batch = Config.Train.Batch;
        (Loss as IAdaptiveGanLoss)?.BeginStep(Step);
        using var scope = new TensorScope(_accelerator);
        MathSettings.Default = Math;
        Tensor? lossD = null, realLogits = null, fakeLogits = null;
        // The latents of every D step and of the G step, drawn in one launch (the same values as one draw each).
        var latents = SampleLatentBatches(batch, Config.Loss.DSteps + 1);
        var draws = AugmentDraws(batch);
        D.SetRequiresGrad(true);
        for (int k = 0; k < Config.Loss.DSteps; k++)
        {
            var real = nextRealBatch();
            Tensor fake;
            using (Autograd.NoGrad())
            {
                using var z = latents[k];
                fake = G.Forward(z);
            }
            realLogits = D.Forward(Augment(real, draws, 2 * k));
            fakeLogits = D.Forward(Augment(fake, draws, (2 * k) + 1));
            lossD = Loss.Discriminator(realLogits, fakeLogits);
            DOptimizer.ZeroGrad();
            lossD.Backward();
            DOptimizer.Step();
        }
        D.SetRequiresGrad(false);
        Tensor lossG;
        {
            using var z = latents[^1];
            using var fake = G.Forward(z);
            using var logits = D.Forward(Augment(fake, draws, AugmentedBatchesPerStep - 1));
            lossG = Loss.Generator(logits);
            GOptimizer.ZeroGrad();
            lossG.Backward();
            GOptimizer.Step();
        }
        D.SetRequiresGrad(true);
        if (Ema is not null)
        {
            if (Step == Config.Model.EmaStart)
            {
                Ema.Reset();
            }
            else if (Step > Config.Model.EmaStart)
            {
                Ema.Update();
            }
        }
        Step++;
        if (keepValues)
        {
            using var realScore = realLogits!.Sigmoid().Mean();
            using var fakeScore = fakeLogits!.Sigmoid().Mean();
            var values = Tensor.Concat([lossD!.Reshape(1), lossG.Reshape(1), realScore.Reshape(1), fakeScore.Reshape(1)], 0);
            _lastValues?.Dispose();
            _lastValues = TensorScope.Own(values);
        }
    }

    /// <summary>Batches D sees per iteration, each augmented with its own draws: real and fake per D step, fake in the G step.</summary>
    private int AugmentedBatchesPerStep => (2 * Config.Loss.DSteps) + 1;

    /// <summary>
    /// The uniforms of this step's augmentations, <see cref="AugmentedBatchesPerStep"/> batches of draws in one launch,
    /// or null when augmentation is off. They come from word <c>Step x words per step</c> of the seed's augmentation stream, so a run
    /// resumed at a step draws what the uninterrupted run drew (no offset to checkpoint).
    /// </summary>
    private Tensor? AugmentDraws(int batch)
    {
        int calls = AugmentedBatchesPerStep;
        if (Augmentation.IsIdentity)
        {
            return null;
        }
        int perCall = batch * Kernels.Augment.DiffAugmentKernels.DrawsPerSample;
        var draws = Tensor.Empty(_accelerator, [calls * perCall], _stream);
        ulong offset = checked((ulong)Step * (ulong)(calls * perCall));
        Philox.Uniform(_stream, Config.Seed ^ AugmentSalt, offset, draws.DenseView, draws.Length);
        return draws;
    }

    /// <summary>Images as D sees them: augmented with call <paramref name="call"/>'s draws, or unchanged.</summary>
    private Tensor Augment(Tensor images, Tensor? draws, int call)
    {
        if (draws is null)
        {
            return images;
        }
        int perCall = draws.Length / AugmentedBatchesPerStep;
        if (images.Size(0) * Kernels.Augment.DiffAugmentKernels.DrawsPerSample > perCall)
        {
            throw new InvalidOperationException($"A batch of {images.Size(0)} images is larger than the configured batch ({Config.Train.Batch}).");
        }
        using var slice = draws.Slice(0, call * perCall, perCall);
        return Functional.DiffAugment(images, slice, Augmentation);
    }

    /// <summary>The values kept by the last <see cref="TrainStep"/> with keepValues (waits for the device).</summary>
    public StepValues ReadValues()
    {
        if (_lastValues is null)
        {
            throw new InvalidOperationException("No step has kept its values yet: call TrainStep(..., keepValues: true).");
        }
        var v = _lastValues.ToHost();
        return new StepValues(v[0], v[1], v[2], v[3]);
    }

    /// <summary>A batch of N(0, 1) latents from the training stream.</summary>
    public Tensor SampleLatents(int count)
    {
        var z = Tensor.Empty(_accelerator, [count, G.Latent], _stream);
        Philox.Normal(_stream, Latents.Seed, Latents.Reserve(z.Length), z.DenseView, z.Length);
        return z;
    }

    /// <summary>
    /// <paramref name="count"/> consecutive batches of <paramref name="batchSize"/> latents from the training
    /// stream with one launch: batch k holds exactly what the k-th of <paramref name="count"/> calls of
    /// <see cref="SampleLatents"/> would have drawn (the stream reserves the same word ranges; Philox values
    /// depend only on their word), and the stream ends at the same offset. Views of one tensor (in the
    /// current scope, if any); the words between batches that the reservations round up to are drawn and unused.
    /// </summary>
    internal Tensor[] SampleLatentBatches(int batchSize, int count)
    {
        int n = batchSize * G.Latent;
        var offsets = new ulong[count];
        for (int k = 0; k < count; k++)
        {
            offsets[k] = Latents.Reserve(n);
        }
        int span = checked((int)(offsets[^1] - offsets[0]) + n);
        using var all = Tensor.Empty(_accelerator, [span], _stream);
        Philox.Normal(_stream, Latents.Seed, offsets[0], all.DenseView, span);
        var batches = new Tensor[count];
        for (int k = 0; k < count; k++)
        {
            using var part = all.Slice(0, (int)(offsets[k] - offsets[0]), n);
            batches[k] = part.View(batchSize, G.Latent);
        }
        return batches;
    }

    /// <summary>Latents of a separate stream keyed by <paramref name="seed"/> (fixed sample grids, evaluation).</summary>
    public Tensor FixedLatents(int count, ulong seed)
    {
        var z = Tensor.Empty(_accelerator, [count, G.Latent], _stream);
        Philox.Normal(_stream, seed, 0, z.DenseView, z.Length);
        return z;
    }

    /// <summary>Images from <paramref name="z"/> in evaluation mode (running statistics), without gradients;
    /// the EMA generator when asked for and present.</summary>
    public Tensor Generate(Tensor z, bool useEma)
    {
        var g = useEma && Ema is not null ? Ema.Model : G;
        if (useEma && Ema is not null && _standingStatisticsStep != Step)
        {
            Ema.StandingStatistics(StandingPasses, StandingBatch, Config.Seed ^ 0x7374_616e_6469_6e67UL);
            _standingStatisticsStep = Step;
        }
        using var noGrad = Autograd.NoGrad();
        MathSettings.Default = Math;
        g.SetTraining(false);
        try
        {
            return g.Forward(z);
        }
        finally
        {
            g.SetTraining(true);
        }
    }

    /// <summary>
    /// Rebuilds G's or D's Adam after an architecture change: parameters that were replaced get their moments
    /// gathered with the same index map (or zeroed with <paramref name="resetMoved"/>); the others keep
    /// theirs; the step count carries over. The replaced parameters are disposed.
    /// </summary>
    public void RebuildOptimizer(bool generator, IReadOnlyList<Architecture.ParameterRemap> remaps, bool resetMoved)
    {
        ArgumentNullException.ThrowIfNull(remaps);
        var old = generator ? GOptimizer : DOptimizer;
        var module = generator ? (Module)G : D;
        var fresh = new Adam(module.Parameters(), old.Hyperparameters, old.DecoupledWeightDecay) { StepCount = old.StepCount };
        var oldIndex = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int k = 0; k < old.Parameters.Count; k++)
        {
            oldIndex[old.Parameters[k]] = k;
        }
        var byNew = new Dictionary<Tensor, Architecture.ParameterRemap>(ReferenceEqualityComparer.Instance);
        foreach (var r in remaps)
        {
            byNew[r.New] = r;
        }
        using (Autograd.NoGrad())
        using (var scope = new TensorScope(_accelerator))
        {
            for (int i = 0; i < fresh.Parameters.Count; i++)
            {
                var p = fresh.Parameters[i];
                if (byNew.TryGetValue(p, out var remap))
                {
                    if (!resetMoved)
                    {
                        int j = oldIndex[remap.Old];
                        var index = Tensor.FromHost(_accelerator, [.. remap.Sources.Select(s => (float)s)], remap.Sources.Length);
                        fresh.FirstMoment(i).CopyFrom(Functional.IndexSelect(old.FirstMoment(j), remap.Axis, index));
                        fresh.SecondMoment(i).CopyFrom(Functional.IndexSelect(old.SecondMoment(j), remap.Axis, index));
                    }
                }
                else if (oldIndex.TryGetValue(p, out int j))
                {
                    fresh.FirstMoment(i).CopyFrom(old.FirstMoment(j));
                    fresh.SecondMoment(i).CopyFrom(old.SecondMoment(j));
                }
                else
                {
                    throw new InvalidOperationException($"Parameter {i} of the rebuilt {(generator ? "G" : "D")} optimizer is neither old nor remapped.");
                }
            }
        }
        old.Dispose();
        foreach (var r in remaps)
        {
            r.Old.Dispose();
        }
        if (generator)
        {
            GOptimizer = fresh;
        }
        else
        {
            DOptimizer = fresh;
        }
    }

    /// <summary>Restores the step counter and random stream position (checkpoints).</summary>
    internal void RestoreCounters(long step, ulong latentOffset)
    {
        Step = step;
        Latents = new PhiloxGenerator(Latents.Seed, latentOffset);
    }

    /// <summary>The model the run starts from: the config's, with widths scaled by the architecture's seed factor.</summary>
    public static ModelConfig SeedModel(TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var m = config.Model;
        float f = config.Architecture.SeedFactor;
        if (f >= 1f)
        {
            return m;
        }
        bool g = config.Architecture.Networks != "d", d = config.Architecture.Networks != "g";
        return new ModelConfig
        {
            Family = m.Family, Resolution = m.Resolution, Channels = m.Channels, Latent = m.Latent,
            GWidth = g ? System.Math.Max(1, (int)MathF.Round(m.GWidth * f)) : m.GWidth,
            DWidth = d ? System.Math.Max(1, (int)MathF.Round(m.DWidth * f)) : m.DWidth,
            DBatchNorm = m.DBatchNorm, EmaDecay = m.EmaDecay, EmaStart = m.EmaStart,
        };
    }

    private static AdamHyperparameters Hyper(AdamConfig c) =>
        new(Lr: c.Lr, Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay);

    public void Dispose()
    {
        _lastValues?.Dispose();
        GOptimizer.Dispose();
        DOptimizer.Dispose();
        Ema?.Dispose();
        G.Dispose();
        D.Dispose();
    }
}
