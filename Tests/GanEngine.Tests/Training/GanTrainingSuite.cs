using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Memory;
using GanEngine.Ops.Rng;
using GanEngine.Tensors;
using GanEngine.Training.Config;
using GanEngine.Training.IO;
using GanEngine.Training.Loop;
using GanEngine.Training.Models;
using GanEngine.Training.Modules;
using MathNet.Numerics.LinearAlgebra;
using NUnit.Framework;

namespace GanEngine.Tests.Training;

/// <summary>
/// The training layer on each accelerator: model shapes, the DCGAN-32 of the PyTorch peer, spectral
/// normalisation, the EMA update, a steady-state step without host synchronisation or driver allocation,
/// and a bit-exact resume from a checkpoint file.
/// </summary>
public abstract class GanTrainingSuite : AcceleratorSuite
{
    /// <summary>A small but complete config: DCGAN at 8x8 (digits' own size), narrow, small batch.</summary>
    internal static TrainConfig TinyConfig(string family = "dcgan", int resolution = 8, string loss = "bce")
    {
        var c = ConfigLoader.Preset("digits");
        c.Model.Family = family;
        c.Model.Resolution = resolution;
        c.Model.Latent = 8;
        c.Model.GWidth = 8;
        c.Model.DWidth = 8;
        c.Model.DBatchNorm = family == "dcgan";
        c.Loss.Kind = loss;
        c.Train.Batch = 8;
        c.Seed = 5;
        return c;
    }

    [TestCase("dcgan", 8)]
    [TestCase("dcgan", 16)]
    [TestCase("dcgan", 28)]
    [TestCase("sngan-resnet", 16)]
    public void Models_map_latents_to_images_and_images_to_logits(string family, int resolution)
    {
        var config = TinyConfig(family, resolution);
        config.Model.Channels = 3;
        var init = new InitContext(Acc, 3);
        using var g = GanModels.CreateGenerator(config.Model, init);
        using var d = GanModels.CreateDiscriminator(config.Model, init);
        using var scope = new TensorScope(Acc);
        var z = Tensor.Empty(Acc, [3, config.Model.Latent]);
        Philox.Normal(z.Stream, 1, 0, z.DenseView, z.Length);
        var images = g.Forward(z);
        Assert.That(images.ShapeArray(), Is.EqualTo(new[] { 3, 3, resolution, resolution }));
        var pixels = images.ToHost();
        Assert.That(pixels.All(v => v >= -1f && v <= 1f && float.IsFinite(v)), "tanh output in [-1, 1]");
        Assert.That(pixels.Distinct().Count(), Is.GreaterThan(pixels.Length / 2), "images are not constant");
        var logits = d.Forward(images);
        Assert.That(logits.ShapeArray(), Is.EqualTo(new[] { 3 }));
        Assert.That(logits.ToHost().All(float.IsFinite));
    }

    [Test]
    public void Dcgan32_has_the_peers_layers_and_parameter_counts()
    {
        var config = ConfigLoader.Preset("dcgan32");
        config.Model.Channels = 3;
        var init = new InitContext(Acc, 1);
        using var g = (DcganGenerator)GanModels.CreateGenerator(config.Model, init);
        using var d = (DcganDiscriminator)GanModels.CreateDiscriminator(config.Model, init);
        Assert.That(g.Convs.Select(c => c.OutChannels), Is.EqualTo(new[] { 512, 256, 128, 3 }));
        Assert.That(d.Convs.Select(c => c.OutChannels), Is.EqualTo(new[] { 128, 256, 512, 1 }));
        // PERFORMANCE.md: 3.68 M + 2.64 M parameters (convolutions without bias, plus BatchNorm's affine pairs).
        Assert.That(g.Convs.Sum(c => (long)c.Weight.Length), Is.EqualTo(3_676_160));
        Assert.That(d.Convs.Sum(c => (long)c.Weight.Length), Is.EqualTo(2_635_776));
        Assert.That(g.ParameterCount, Is.EqualTo(3_676_160 + (2 * (512 + 256 + 128))));
        Assert.That(d.ParameterCount, Is.EqualTo(2_635_776 + (2 * (256 + 512))));
    }

    [Test]
    public void Spectral_norm_layer_applies_a_weight_of_unit_spectral_norm()
    {
        var init = new InitContext(Acc, 11);
        using var layer = new LinearLayer(init, 12, 7, bias: false, WeightInit.XavierUniform, spectralNorm: true);
        using var scope = new TensorScope(Acc);
        var x = Tensor.Empty(Acc, [12, 12]);
        var eye = new float[144];
        for (int i = 0; i < 12; i++)
        {
            eye[(i * 12) + i] = 1f;
        }
        x = Tensor.FromHost(Acc, eye, 12, 12);
        Tensor y = null!;
        for (int i = 0; i < 30; i++)
        {
            y = layer.Forward(x);   // each training forward runs one power iteration
        }
        // y = I W_sn^T: its largest singular value is sigma(W_sn) = 1 once the power iteration has converged.
        var m = Matrix<double>.Build.Dense(12, 7, (r, c) => y.ToHost()[(r * 7) + c]);
        Assert.That(m.Svd().S[0], Is.EqualTo(1.0).Within(1e-3));
        var w = Matrix<double>.Build.Dense(7, 12, (r, c) => layer.Weight.ToHost()[(r * 12) + c]);
        Assert.That(w.Svd().S[0], Is.Not.EqualTo(1.0).Within(1e-2), "the stored weight itself is not normalised");
    }

    [Test]
    public void Ema_follows_the_generator_with_its_decay()
    {
        var config = TinyConfig();
        using var g = GanModels.CreateGenerator(config.Model, new InitContext(Acc, 1));
        using var copy = GanModels.CreateGenerator(config.Model, new InitContext(Acc, 2));
        using var ema = new ExponentialMovingAverage(g, copy, 0.9f);
        var before = copy.Parameters().Select(p => p.ToHost()).ToList();
        Assert.That(before[0], Is.EqualTo(g.Parameters()[0].ToHost()), "the EMA starts as a copy");
        // Change G, then one EMA step: ema = 0.9 ema + 0.1 w.
        foreach (var p in g.Parameters())
        {
            using var scope = new TensorScope(Acc);
            p.CopyFrom(p * 3f);
        }
        ema.Update();
        var w = g.Parameters().Select(p => p.ToHost()).ToList();
        var after = copy.Parameters().Select(p => p.ToHost()).ToList();
        for (int i = 0; i < w.Count; i++)
        {
            for (int j = 0; j < w[i].Length; j++)
            {
                Assert.That(after[i][j], Is.EqualTo((0.9f * before[i][j]) + (0.1f * w[i][j])).Within(1e-6f + (1e-6f * Math.Abs(w[i][j]))));
            }
        }
    }

    [TestCase("dcgan", "bce", "none")]
    [TestCase("sngan-resnet", "hinge", "none")]
    [TestCase("dcgan", "bce", "color,translation,cutout")]
    public void A_steady_state_step_neither_waits_for_the_device_nor_allocates_from_the_driver(string family, string loss, string augment)
    {
        var config = TinyConfig(family, family == "dcgan" ? 8 : 16, loss);
        config.Loss.DSteps = 2;
        config.Augment.Policy = augment;
        using var trainer = new GanTrainer(config, Acc);
        using var real = TensorScope.Own(Tensor.Empty(Acc, [config.Train.Batch, 1, config.Model.Resolution, config.Model.Resolution]));
        Philox.Uniform(real.Stream, 3, 0, real.DenseView, real.Length, -1f, 1f);
        for (int i = 0; i < 3; i++)
        {
            trainer.TrainStep(() => real);
        }
        long syncs = Acc.HostSynchronizations, allocations = Acc.DriverAllocations;
        for (int i = 0; i < 3; i++)
        {
            trainer.TrainStep(() => real);
        }
        Assert.That(Acc.HostSynchronizations - syncs, Is.Zero, "host synchronisations in steady-state steps");
        Assert.That(Acc.DriverAllocations - allocations, Is.Zero, "driver allocations in steady-state steps");
        trainer.TrainStep(() => real, keepValues: true);
        var v = trainer.ReadValues();
        Assert.That(new[] { v.LossD, v.LossG, v.RealScore, v.FakeScore }.All(float.IsFinite));
        Assert.That(trainer.Step, Is.EqualTo(7));
    }

    [Test]
    public void A_step_draws_all_its_latents_in_one_launch_with_the_words_of_separate_draws()
    {
        var config = TinyConfig();
        config.Model.Latent = 7; // 5 x 7 = 35 latents per batch: the reservations round up, leaving gaps
        using var trainer = new GanTrainer(config, Acc);
        _ = trainer.Latents.Reserve(3); // start the stream away from 0
        var expectedStream = new PhiloxGenerator(trainer.Latents.Seed, trainer.Latents.Offset);
        using var scope = new TensorScope(Acc);
        long before = Acc.KernelLaunches;
        var batches = trainer.SampleLatentBatches(5, 3);
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(1), "one fill for three batches");
        for (int k = 0; k < 3; k++)
        {
            Assert.That(batches[k].Shape, Is.EqualTo(new[] { 5, 7 }));
            using var separate = Tensor.Empty(Acc, [35]);
            Philox.Normal(separate.Stream, expectedStream.Seed, expectedStream.Reserve(35), separate.DenseView, 35);
            Assert.That(batches[k].ToHost().Select(BitConverter.SingleToUInt32Bits),
                Is.EqualTo(separate.ToHost().Select(BitConverter.SingleToUInt32Bits)), $"batch {k}");
        }
        Assert.That(trainer.Latents.Offset, Is.EqualTo(expectedStream.Offset), "the stream ends where three draws end");
    }

    [TestCase("none")]
    [TestCase("color,translation,cutout")]
    public void Resuming_from_a_checkpoint_file_continues_bit_exactly(string augment)
    {
        var config = TinyConfig();
        config.Augment.Policy = augment;
        var batches = RealBatches(config, 12);
        var straight = Train(config, batches, 0, 6, null, out var straightWeights);

        string path = Path.Combine(Path.GetTempPath(), $"ganengine-resume-{Guid.NewGuid():N}.ckpt");
        try
        {
            var first = Train(config, batches, 0, 3, path, out _);
            Assert.That(first, Is.EqualTo(straight.Take(3)), "the first half matches before any checkpoint");
            var second = Train(config, batches, 3, 6, path, out var resumedWeights, restore: true);
            Assert.That(second, Is.EqualTo(straight.Skip(3)), "losses after resuming equal the uninterrupted run's");
            Assert.That(resumedWeights, Is.EqualTo(straightWeights), "final generator weights are bit-identical");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Augmentation_changes_what_D_sees_and_none_changes_nothing()
    {
        var config = TinyConfig();
        var batches = RealBatches(config, 3);
        var plain = Train(config, batches, 0, 3, null, out var plainWeights);
        config.Augment.Policy = "none";
        Assert.That(Train(config, batches, 0, 3, null, out var noneWeights), Is.EqualTo(plain), "policy none");
        Assert.That(noneWeights, Is.EqualTo(plainWeights));
        config.Augment.Policy = "translation,cutout";
        var augmented = Train(config, batches, 0, 3, null, out var augmentedWeights);
        Assert.That(augmented[0].RealScore, Is.Not.EqualTo(plain[0].RealScore), "D scores augmented real images");
        Assert.That(augmentedWeights, Is.Not.EqualTo(plainWeights), "G learns through the augmentation");
        Assert.That(augmented.All(v => float.IsFinite(v.LossD) && float.IsFinite(v.LossG)));
    }

    // Trains steps [from, to) on fixed batches; writes a checkpoint at the end when given a path, or restores from it first.
    private List<StepValues> Train(TrainConfig config, List<Tensor> batches, int from, int to, string? path, out float[] weights, bool restore = false)
    {
        using var trainer = new GanTrainer(config, Acc);
        if (restore)
        {
            long served = TrainerCheckpoint.Restore(trainer, CheckpointFile.Read(path!), path!);
            Assert.That(served, Is.EqualTo(from));
            Assert.That(trainer.Step, Is.EqualTo(from));
        }
        var values = new List<StepValues>();
        int next = from;
        for (int step = from; step < to; step++)
        {
            trainer.TrainStep(() => batches[next++], keepValues: true);
            values.Add(trainer.ReadValues());
        }
        if (path is not null && !restore)
        {
            CheckpointFile.Write(path, TrainerCheckpoint.Capture(trainer, next));
        }
        weights = [.. trainer.Ema!.Model.Parameters().SelectMany(p => p.ToHost())];
        return values;
    }

    private List<Tensor> RealBatches(TrainConfig config, int count)
    {
        var list = new List<Tensor>();
        for (int i = 0; i < count; i++)
        {
            var t = TensorScope.Own(Tensor.Empty(Acc, [config.Train.Batch, 1, 8, 8]));
            Philox.Uniform(t.Stream, 77, (ulong)(i * t.Length), t.DenseView, t.Length, -1f, 1f);
            list.Add(t);
        }
        return list;
    }
}

[TestFixture]
public sealed class CpuGanTraining : GanTrainingSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClGanTraining(string platform) : GanTrainingSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaGanTraining : GanTrainingSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
