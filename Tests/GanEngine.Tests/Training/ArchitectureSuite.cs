using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Memory;
using GanEngine.Ops.Rng;
using GanEngine.Tensors;
using GanEngine.Training.Architecture;
using GanEngine.Training.Config;
using GanEngine.Training.IO;
using GanEngine.Training.Loop;
using GanEngine.Training.Models;
using NUnit.Framework;

namespace GanEngine.Tests.Training;

/// <summary>
/// Growth and pruning on each accelerator: function-preserving growth keeps G's and D's outputs (evaluation
/// mode) to 1e-5; pruning keeps exactly the highest-L1 filters and equals the unpruned network with the
/// removed channels zeroed; Adam's moments follow the surviving and copied weights; a run that grows and
/// prunes resumes bit-exactly from its checkpoint.
/// </summary>
public abstract class ArchitectureSuite : AcceleratorSuite
{
    private static TrainConfig Config()
    {
        var c = GanTrainingSuite.TinyConfig(resolution: 16);
        c.Math = "fp32";   // growth changes reduction lengths: compare in strict FP32, not TF32's rounding
        c.Model.GWidth = 6;
        c.Model.DWidth = 6;
        return c;
    }

    private GanTrainer TrainedTrainer(int steps, out Tensor real)
    {
        var config = Config();
        var trainer = new GanTrainer(config, Acc);
        real = TensorScope.Own(Tensor.Empty(Acc, [config.Train.Batch, 1, 16, 16]));
        Philox.Uniform(real.Stream, 21, 0, real.DenseView, real.Length, -1f, 1f);
        var batch = real;
        for (int i = 0; i < steps; i++)
        {
            trainer.TrainStep(() => batch);   // non-trivial weights, BN statistics and Adam moments
        }
        return trainer;
    }

    [TestCase(GrowthRule.FunctionPreserving, FilterSelection.All)]
    [TestCase(GrowthRule.FunctionPreserving, FilterSelection.HighestL1)]
    public void Function_preserving_growth_keeps_both_networks_outputs(GrowthRule rule, FilterSelection selection)
    {
        using var trainer = TrainedTrainer(3, out var real);
        using var z = TensorScope.Own(trainer.FixedLatents(5, 9));
        var before = trainer.Generate(z, useEma: false).ToHost();
        var emaBefore = trainer.Generate(z, useEma: true).ToHost();
        var dBefore = Discriminate(trainer, real);
        var options = new GrowthOptions { Rule = rule, Selection = selection };
        int gLinks = ArchitectureEditor.Widths(trainer, NetworkSide.Generator).Length;
        for (int i = 0; i < gLinks; i++)
        {
            int w = ArchitectureEditor.Widths(trainer, NetworkSide.Generator)[i];
            ArchitectureEditor.Grow(trainer, NetworkSide.Generator, i, i == 0 ? 2 * w : w + 3, options);
        }
        for (int i = 0; i < ArchitectureEditor.Widths(trainer, NetworkSide.Discriminator).Length; i++)
        {
            ArchitectureEditor.Grow(trainer, NetworkSide.Discriminator, i, 2 * ArchitectureEditor.Widths(trainer, NetworkSide.Discriminator)[i], options);
        }
        Assert.That(ArchitectureEditor.Widths(trainer, NetworkSide.Generator), Is.EqualTo(new[] { 24, 9 }));
        Assert.That(ArchitectureEditor.Widths(trainer, NetworkSide.Discriminator), Is.EqualTo(new[] { 12, 24 }));
        AssertClose(trainer.Generate(z, useEma: false).ToHost(), before, "G output after growth");
        AssertClose(trainer.Generate(z, useEma: true).ToHost(), emaBefore, "EMA output after growth");
        AssertClose(Discriminate(trainer, real), dBefore, "D output after growth");
        // Training goes on with the wider networks.
        trainer.TrainStep(() => real, keepValues: true);
        Assert.That(float.IsFinite(trainer.ReadValues().LossD));
        real.Dispose();
    }

    [Test]
    public void Pruning_keeps_the_highest_L1_filters_and_equals_zeroing_the_removed_channels()
    {
        using var trainer = TrainedTrainer(3, out var real);
        var link = ArchitectureEditor.Network(trainer, NetworkSide.Generator).ChannelLinks[1];
        var producer = link.Producer;
        int width = link.Width;
        // Expected: L1 norms computed on the host from the weights, ranked.
        var w = producer.Weight.ToHost();
        var shape = producer.Weight.ShapeArray();   // convT: (in, out, k, k), out axis 1
        var norms = new double[width];
        for (int i = 0; i < w.Length; i++)
        {
            int o = i / (shape[2] * shape[3]) % shape[1];
            norms[o] += Math.Abs(w[i]);
        }
        int keep = width - 2;
        var kept = Enumerable.Range(0, width).OrderByDescending(i => norms[i]).Take(keep).Order().ToArray();
        var removed = Enumerable.Range(0, width).Except(kept).ToArray();

        using var z = TensorScope.Own(trainer.FixedLatents(5, 4));
        // Reference: the unpruned G with the removed channels zeroed (filter and BatchNorm affine), in evaluation mode.
        var gammaBefore = link.Norm!.Weight.ToHost();
        var firstMomentBefore = trainer.GOptimizer.FirstMoment(IndexOf(trainer.GOptimizer, link.Norm.Weight)).ToHost();
        var zeroed = Zeroed(w, shape, 1, removed);
        var originalW = producer.Weight.ToHost();
        var gamma = link.Norm.Weight.ToHost();
        var beta = link.Norm.Bias.ToHost();
        producer.Weight.Stream.CopyToDevice<float>(zeroed, producer.Weight.DenseView);
        link.Norm.Weight.Stream.CopyToDevice<float>(Zeroed(gamma, [width], 0, removed), link.Norm.Weight.DenseView);
        link.Norm.Bias.Stream.CopyToDevice<float>(Zeroed(beta, [width], 0, removed), link.Norm.Bias.DenseView);
        var reference = trainer.Generate(z, useEma: false).ToHost();
        producer.Weight.Stream.CopyToDevice<float>(originalW, producer.Weight.DenseView);
        link.Norm.Weight.Stream.CopyToDevice<float>(gamma, link.Norm.Weight.DenseView);
        link.Norm.Bias.Stream.CopyToDevice<float>(beta, link.Norm.Bias.DenseView);

        var change = ArchitectureEditor.Prune(trainer, NetworkSide.Generator, 1, keep, new PruneOptions { MinWidth = 1 });
        Assert.That(change.NewWidth, Is.EqualTo(keep));
        var prunedLink = ArchitectureEditor.Network(trainer, NetworkSide.Generator).ChannelLinks[1];
        Assert.That(prunedLink.Producer.Weight.ToHost(), Is.EqualTo(Gather(originalW, shape, 1, kept)), "the kept filters, in order");
        AssertClose(trainer.Generate(z, useEma: false).ToHost(), reference, "pruned G vs zeroed channels");
        // Optimizer state follows the surviving channels.
        Assert.That(prunedLink.Norm!.Weight.ToHost(), Is.EqualTo(kept.Select(i => gammaBefore[i]).ToArray()));
        var firstMomentAfter = trainer.GOptimizer.FirstMoment(IndexOf(trainer.GOptimizer, prunedLink.Norm.Weight)).ToHost();
        Assert.That(firstMomentAfter, Is.EqualTo(kept.Select(i => firstMomentBefore[i]).ToArray()));
        Assert.That(trainer.GOptimizer.StepCount, Is.EqualTo(3));
        real.Dispose();
    }

    [Test]
    public void Global_pruning_meets_a_parameter_target_or_a_threshold()
    {
        var config = Config();
        config.Model.GWidth = 16;
        config.Model.DWidth = 16;
        config.Architecture.PruneAt = 1;
        config.Architecture.PruneScope = "global";
        config.Architecture.MinWidth = 2;
        using var trainer = new GanTrainer(config, Acc);
        using var real = TensorScope.Own(Tensor.Empty(Acc, [config.Train.Batch, 1, 16, 16]));
        Philox.Uniform(real.Stream, 8, 0, real.DenseView, real.Length, -1f, 1f);
        trainer.TrainStep(() => real);
        long gBefore = trainer.G.ParameterCount;
        int target = (int)(gBefore * 0.7);
        config.Architecture.PruneTargetParamsG = target;
        config.Architecture.Networks = "g";
        var changes = new ArchitectureSchedule(config).Apply(trainer);
        Assert.That(changes, Is.Not.Empty);
        Assert.That(trainer.G.ParameterCount, Is.LessThanOrEqualTo(target), "at most the target");
        // The last filter removed cost at most one producer filter plus one consumer slice plus its BN pair.
        long largestFilter = ArchitectureEditor.Network(trainer, NetworkSide.Generator).ChannelLinks
            .Max(l => (l.Producer.Weight.Length / l.Width) + (l.Consumer.Weight.Length / l.Consumer.InputWidth) + 2L);
        Assert.That(trainer.G.ParameterCount, Is.GreaterThan(target - largestFilter), "no more than needed");

        // A threshold above every score prunes every layer of D to the minimum width.
        config.Architecture.PruneTargetParamsG = 0;
        config.Architecture.PruneThreshold = 1e9f;
        config.Architecture.Networks = "d";
        new ArchitectureSchedule(config).Apply(trainer);
        Assert.That(ArchitectureEditor.Widths(trainer, NetworkSide.Discriminator), Is.All.EqualTo(2));
        trainer.TrainStep(() => real, keepValues: true);
        Assert.That(float.IsFinite(trainer.ReadValues().LossD), "training goes on after pruning");
    }

    [Test]
    public void A_run_that_grows_and_prunes_resumes_bit_exactly()
    {
        var config = Config();
        var batches = Enumerable.Range(0, 10).Select(i =>
        {
            var t = TensorScope.Own(Tensor.Empty(Acc, [config.Train.Batch, 1, 16, 16]));
            Philox.Uniform(t.Stream, 5, (ulong)(i * t.Length), t.DenseView, t.Length, -1f, 1f);
            return t;
        }).ToList();
        string path = Path.Combine(Path.GetTempPath(), $"ganengine-arch-{Guid.NewGuid():N}.ckpt");
        try
        {
            var straight = Run(config, batches, 0, 8, checkpointAt: -1, path, out var straightWeights);
            var first = Run(config, batches, 0, 5, checkpointAt: 5, path, out _);
            Assert.That(first, Is.EqualTo(straight.Take(5)));
            var resumed = Run(config, batches, 5, 8, checkpointAt: -1, path, out var resumedWeights, restore: true);
            Assert.That(resumed, Is.EqualTo(straight.Skip(5)), "losses after resuming a grown and pruned run");
            Assert.That(resumedWeights, Is.EqualTo(straightWeights));
        }
        finally
        {
            File.Delete(path);
            batches.ForEach(b => b.Dispose());
        }
    }

    // Steps [from, to): grow G and D x2 after step 2 (noise on, moments copied), prune D's second link after step 4.
    private List<StepValues> Run(TrainConfig config, List<Tensor> batches, int from, int to, int checkpointAt, string path,
        out float[] weights, bool restore = false)
    {
        using var trainer = new GanTrainer(config, Acc);
        if (restore)
        {
            TrainerCheckpoint.Restore(trainer, CheckpointFile.Read(path), path);
            Assert.That(ArchitectureEditor.Widths(trainer, NetworkSide.Discriminator), Is.EqualTo(new[] { 12, 20 }), "widths restored");
        }
        var values = new List<StepValues>();
        for (int step = from; step < to; step++)
        {
            if (step == 2)
            {
                var grow = new GrowthOptions { Rule = GrowthRule.Replicate, Noise = 0.01f };
                foreach (var side in new[] { NetworkSide.Generator, NetworkSide.Discriminator })
                {
                    for (int i = 0; i < ArchitectureEditor.Widths(trainer, side).Length; i++)
                    {
                        ArchitectureEditor.Grow(trainer, side, i, 2 * ArchitectureEditor.Widths(trainer, side)[i], grow);
                    }
                }
            }
            if (step == 4)
            {
                ArchitectureEditor.Prune(trainer, NetworkSide.Discriminator, 1, 20, new PruneOptions { ScaleByBatchNormGamma = true });
            }
            int index = step;
            trainer.TrainStep(() => batches[index], keepValues: true);
            values.Add(trainer.ReadValues());
            if (step + 1 == checkpointAt)
            {
                CheckpointFile.Write(path, TrainerCheckpoint.Capture(trainer, step + 1));
            }
        }
        weights = [.. trainer.G.Parameters().SelectMany(p => p.ToHost())];
        return values;
    }

    private float[] Discriminate(GanTrainer trainer, Tensor images)
    {
        using var noGrad = GanEngine.Tensors.Autograd.NoGrad();
        using var scope = new TensorScope(Acc);
        trainer.D.SetTraining(false);
        var logits = trainer.D.Forward(images).ToHost();
        trainer.D.SetTraining(true);
        return logits;
    }

    private static int IndexOf(GanEngine.Nn.Adam adam, Parameter p) =>
        adam.Parameters.Select((q, i) => (q, i)).First(x => ReferenceEquals(x.q, p)).i;

    private static float[] Zeroed(float[] values, int[] shape, int axis, int[] channels)
    {
        var result = (float[])values.Clone();
        int inner = shape.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
        for (int i = 0; i < result.Length; i++)
        {
            if (channels.Contains(i / inner % shape[axis]))
            {
                result[i] = 0f;
            }
        }
        return result;
    }

    private static float[] Gather(float[] values, int[] shape, int axis, int[] channels)
    {
        int inner = shape.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
        int outer = shape.Take(axis).Aggregate(1, (a, b) => a * b);
        var result = new List<float>();
        for (int o = 0; o < outer; o++)
        {
            foreach (int c in channels)
            {
                result.AddRange(values.AsSpan(((o * shape[axis]) + c) * inner, inner).ToArray());
            }
        }
        return [.. result];
    }

    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            diff += (actual[i] - expected[i]) * (double)(actual[i] - expected[i]);
            norm += expected[i] * (double)expected[i];
        }
        double relative = Math.Sqrt(diff / Math.Max(norm, 1e-30));
        Assert.That(relative, Is.LessThan(1e-5), $"{what}: relative error {relative:E2}");
    }
}

[TestFixture]
public sealed class CpuArchitecture : ArchitectureSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClArchitecture(string platform) : ArchitectureSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaArchitecture : ArchitectureSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
