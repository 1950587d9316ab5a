using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Memory;
using GanEngine.Ops.Elementwise;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Autograd;

/// <summary>
/// How <c>Backward</c> fills leaf gradients, on one accelerator (bound to each below): a first gradient that
/// nothing else references becomes the leaf's <c>Grad</c> without a copy; shared, aliased or strided ones are
/// copied; later contributions are added in place, several leaves per launch, in arrival order, bit-identical
/// to one addition each (PyTorch's accumulation semantics unchanged). Also the multi-tensor add itself
/// (<see cref="ElementwiseOps.AddInPlaceMany"/>) against one <see cref="ElementwiseOps.AddInPlace"/> per pair
/// and a float64 reference, and the launch counter the tests count with. Fresh random inputs, never zero.
/// </summary>
public abstract class GradientAccumulationSuite : AcceleratorSuite
{
    private static float[] Random(Random rng, int n, double scale = 1)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double x;
            do
            {
                x = ((rng.NextDouble() * 2) - 1) * scale;
            }
            while (Math.Abs(x) < 1e-3 * scale);
            v[i] = (float)x;
        }
        return v;
    }

    private static uint[] Bits(float[] v) => v.Select(BitConverter.SingleToUInt32Bits).ToArray();

    // A scalar output whose node hands the given gradients to its inputs (the test's own backward).
    private Tensor Custom(Tensor[] inputs, Func<Tensor?[]> gradients) =>
        global::GanEngine.Tensors.Autograd.Record(Tensor.Zeros(Acc, [1]), "Custom", inputs, [], (_, _) => gradients());

    [Test]
    public void KernelLaunches_CountsEachLaunch_AndNothingElse()
    {
        long before = Acc.KernelLaunches;
        using var a = Tensor.Full(Acc, [37], 1.5f);
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(1), "one fill");
        using var b = a * a;
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(2), "one binary op");
        _ = b.ToHost();
        using var v = b.View(37, 1);
        Assert.That(Acc.KernelLaunches - before, Is.EqualTo(2), "copies to the host and views launch nothing");
    }

    [Test]
    public void FreshFirstGradient_BecomesTheGrad_WithoutCopy_ThenAccumulatesInPlace()
    {
        var rng = new Random(11);
        var g1 = Random(rng, 15);
        var g2 = Random(rng, 15);
        using var p = Parameter.FromHost(Acc, Random(rng, 15), 5, 3);
        TensorStorage handed;
        long before;
        using (var scope = new TensorScope(Acc))
        {
            var fresh = Tensor.FromHost(Acc, g1, 5, 3);
            handed = fresh.Storage;
            var y = Custom([p], () => [fresh]);
            before = Acc.KernelLaunches;
            y.Backward();
            Assert.That(Acc.KernelLaunches - before, Is.EqualTo(1), "the seed fill only: no copy of the gradient");
        }
        Assert.That(p.Grad!.Storage, Is.SameAs(handed), "the fresh gradient is the leaf's Grad");
        Assert.That(p.Grad.Storage.References, Is.EqualTo(1), "and nothing else holds it (the scope ended)");
        Assert.That(Bits(p.Grad.ToHost()), Is.EqualTo(Bits(g1)));

        using (var scope = new TensorScope(Acc))
        {
            var fresh = Tensor.FromHost(Acc, g2, 5, 3);
            var y = Custom([p], () => [fresh]);
            before = Acc.KernelLaunches;
            y.Backward();
            Assert.That(Acc.KernelLaunches - before, Is.EqualTo(2), "seed fill and one in-place addition");
        }
        Assert.That(p.Grad.Storage, Is.SameAs(handed), "accumulated in place");
        var expected = g1.Zip(g2, (a, b) => a + b).ToArray();
        Assert.That(Bits(p.Grad.ToHost()), Is.EqualTo(Bits(expected)), "grad = g1 + g2 (float addition, bit for bit)");
    }

    [Test]
    public void SharedAliasedOrStridedGradients_AreCopied_AndStayIndependent()
    {
        var rng = new Random(12);
        var gs = Random(rng, 12);
        var gt = Random(rng, 12);
        using var p = Parameter.FromHost(Acc, Random(rng, 12), 4, 3);
        using var q = Parameter.FromHost(Acc, Random(rng, 12), 4, 3);
        using var r = Parameter.FromHost(Acc, Random(rng, 12), 4, 3);
        using var s = Parameter.FromHost(Acc, Random(rng, 12), 3, 4);
        using var held = Tensor.FromHost(Acc, gs, 4, 3);
        using (var scope = new TensorScope(Acc))
        {
            // One tensor for two leaves; an alias of a tensor the test still holds; a transposed (strided) view.
            var shared = Tensor.FromHost(Acc, gs, 4, 3);
            var y = Custom([p, q, r, s], () =>
            {
                using var dense = Tensor.FromHost(Acc, gt, 4, 3);
                return [shared, shared, held.Detach(), dense.Transpose(0, 1)];
            });
            y.Backward();
        }
        Assert.That(p.Grad!.Storage, Is.Not.SameAs(q.Grad!.Storage), "a gradient returned twice is copied for each leaf");
        Assert.That(r.Grad!.Storage, Is.Not.SameAs(held.Storage), "a gradient still referenced elsewhere is copied");
        Assert.That(s.Grad!.IsContiguous, Is.True, "a strided gradient is copied densely");
        Assert.That(Bits(p.Grad.ToHost()), Is.EqualTo(Bits(gs)));
        Assert.That(Bits(q.Grad.ToHost()), Is.EqualTo(Bits(gs)));
        Assert.That(Bits(r.Grad.ToHost()), Is.EqualTo(Bits(gs)));
        var transposed = new float[12];
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                transposed[(j * 4) + i] = gt[(i * 3) + j];
            }
        }
        Assert.That(Bits(s.Grad.ToHost()), Is.EqualTo(Bits(transposed)));

        // In-place changes of one gradient reach neither the other leaf's nor the caller's tensor.
        p.ZeroGrad(setToNone: false);
        using (var scope = new TensorScope(Acc))
        {
            var y = Custom([r], () => [Tensor.FromHost(Acc, gt, 4, 3)]);
            y.Backward();
        }
        Assert.That(Bits(q.Grad.ToHost()), Is.EqualTo(Bits(gs)));
        Assert.That(Bits(held.ToHost()), Is.EqualTo(Bits(gs)));
        Assert.That(Bits(r.Grad.ToHost()), Is.EqualTo(Bits(gs.Zip(gt, (a, b) => a + b).ToArray())));
    }

    [Test]
    public void ManyLeaves_ManyContributions_AddedInArrivalOrder_SeveralLeavesPerLaunch()
    {
        // 11 leaves, each an input of one node three times (arrival order = input order), and one leaf
        // used three times in a row: the first contribution is taken, the others are added at the end of
        // Backward, at most 8 leaves per launch and never the same leaf twice in one launch.
        var rng = new Random(13);
        int[] sizes = [1, 7, 64, 255, 256, 257, 1000, 3, 31, 4099, 130];
        var leaves = sizes.Select(n => Parameter.FromHost(Acc, Random(rng, n), n)).ToArray();
        using var solo = Parameter.FromHost(Acc, Random(rng, 33), 33);
        try
        {
            // Values of very different magnitudes, so that the order of the float additions shows.
            var g = Enumerable.Range(0, 3).Select(j => sizes.Select(n => Random(rng, n, Math.Pow(1e3, j))).ToArray()).ToArray();
            var gSolo = Enumerable.Range(0, 3).Select(j => Random(rng, 33, Math.Pow(1e-3, j))).ToArray();
            long launches;
            using (var scope = new TensorScope(Acc))
            {
                Tensor[] inputs = [.. leaves, .. leaves, .. leaves, solo, solo, solo];
                var y = Custom(inputs, () =>
                    [.. Enumerable.Range(0, 3).SelectMany(j => sizes.Select((n, k) => Tensor.FromHost(Acc, g[j][k], n))),
                     .. gSolo.Select(v => Tensor.FromHost(Acc, v, 33))]);
                long before = Acc.KernelLaunches;
                y.Backward();
                launches = Acc.KernelLaunches - before;
            }
            // Seed; 22 + 2 additions: [8], [3 + 5], [6, solo 2nd] (the solo's 3rd repeats it), [solo 3rd].
            Assert.That(launches, Is.EqualTo(1 + 4));
            for (int k = 0; k < sizes.Length; k++)
            {
                var expected = new float[sizes[k]];
                for (int i = 0; i < expected.Length; i++)
                {
                    expected[i] = (g[0][k][i] + g[1][k][i]) + g[2][k][i];
                }
                Assert.That(Bits(leaves[k].Grad!.ToHost()), Is.EqualTo(Bits(expected)), $"leaf {k} ({sizes[k]} elements)");
            }
            var expectedSolo = gSolo[0].Select((v, i) => (v + gSolo[1][i]) + gSolo[2][i]).ToArray();
            Assert.That(Bits(solo.Grad!.ToHost()), Is.EqualTo(Bits(expectedSolo)), "the leaf used three times in a row");
        }
        finally
        {
            foreach (var leaf in leaves)
            {
                leaf.Dispose();
            }
        }
    }

    [Test]
    public void BackwardThatThrows_DropsPendingAdditions_AndLeaksNothing()
    {
        var allocator = CachingAllocator.For(Acc);
        var rng = new Random(14);
        var g1 = Random(rng, 9);
        using var p = Parameter.FromHost(Acc, Random(rng, 9), 9);
        long baseline = allocator.Statistics.BytesInUse;
        using (var scope = new TensorScope(Acc))
        {
            var mid = global::GanEngine.Tensors.Autograd.Record(Tensor.Zeros(Acc, [1]), "Throws", [p], [],
                (_, _) => throw new InvalidOperationException("backward failed"));
            var y = Custom([p, p, mid], () => [Tensor.FromHost(Acc, g1, 9), Tensor.FromHost(Acc, Random(rng, 9), 9), Tensor.Ones(Acc, [1])]);
            Assert.That(() => y.Backward(), Throws.InvalidOperationException.With.Message.EqualTo("backward failed"));
        }
        Assert.That(Bits(p.Grad!.ToHost()), Is.EqualTo(Bits(g1)), "the first contribution was taken; the pending addition was dropped");
        p.ZeroGrad();
        Assert.That(allocator.Statistics.BytesInUse, Is.EqualTo(baseline), "no tensor of the failed call outlives it");
    }

    [Test]
    public void RootBackward_RunsWithoutSeed_WhenTheNodeIsTheRoot_ElseTheBackwardGetsTheGradient()
    {
        var rng = new Random(15);
        var g = Random(rng, 6);
        using var p = Parameter.FromHost(Acc, Random(rng, 6), 6);
        int rootCalls = 0, gradientCalls = 0;
        Tensor Op() => global::GanEngine.Tensors.Autograd.Record(Tensor.Zeros(Acc, []), "Loss", [p], [],
            (_, upstream) =>
            {
                gradientCalls++;
                return [upstream * Tensor.FromHost(Acc, g, 6)];
            },
            _ =>
            {
                rootCalls++;
                return [Tensor.FromHost(Acc, g, 6)];
            });
        using (var scope = new TensorScope(Acc))
        {
            var loss = Op();
            long before = Acc.KernelLaunches;
            loss.Backward();
            Assert.That(Acc.KernelLaunches - before, Is.EqualTo(0), "no seed fill, no copy");
            Assert.That((rootCalls, gradientCalls), Is.EqualTo((1, 0)));
            Assert.That(Bits(p.Grad!.ToHost()), Is.EqualTo(Bits(g)));
            Assert.That(() => loss.Backward(), Throws.InvalidOperationException, "the graph was freed");
        }
        p.ZeroGrad();
        using (var scope = new TensorScope(Acc))
        {
            (Op() * 2f).Backward();
            Assert.That((rootCalls, gradientCalls), Is.EqualTo((1, 1)), "not the root: the ordinary backward");
            Assert.That(Bits(p.Grad!.ToHost()), Is.EqualTo(Bits(g.Select(v => 2f * v).ToArray())));
        }
    }

    [Test]
    public void LeafRoot_GradIsOne_AndAccumulates()
    {
        using var p = Parameter.FromHost(Acc, [0.75f], 1);
        p.Backward();
        Assert.That(p.Grad!.ToHost(), Is.EqualTo(new[] { 1f }));
        p.Backward();
        Assert.That(p.Grad!.ToHost(), Is.EqualTo(new[] { 2f }));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(8)]
    [TestCase(9)]
    [TestCase(19)]
    public void AddInPlaceMany_IsBitIdenticalToAddInPlace_AndMatchesFloat64(int pairs)
    {
        var rng = new Random(100 + pairs);
        int[] sizes = [.. Enumerable.Range(0, pairs).Select(k => k % 5 == 4 ? 0 : 1 + rng.Next(3000))];
        var xs = sizes.Select(n => Random(rng, n, 10)).ToArray();
        var ys = sizes.Select(n => Random(rng, n, 1e-2)).ToArray();
        var many = sizes.Select((n, k) => Tensor.FromHost(Acc, ys[k], n)).ToArray();
        var one = sizes.Select((n, k) => Tensor.FromHost(Acc, ys[k], n)).ToArray();
        var x = sizes.Select((n, k) => Tensor.FromHost(Acc, xs[k], n)).ToArray();
        try
        {
            long before = Acc.KernelLaunches;
            ElementwiseOps.AddInPlaceMany(Acc, x.Select(t => t.DenseView.AsReadOnly()).ToArray(), many.Select(t => t.DenseView).ToArray());
            long launches = Acc.KernelLaunches - before;
            var chunks = Enumerable.Range(0, (pairs + 7) / 8).Select(c => sizes.Skip(c * 8).Take(8).ToArray());
            Assert.That(launches, Is.EqualTo(chunks.Count(c => c.Sum() > 0)), "one launch per 8 pairs (none for an empty chunk)");
            for (int k = 0; k < pairs; k++)
            {
                ElementwiseOps.AddInPlace(Acc, x[k].DenseView, one[k].DenseView, sizes[k]);
            }
            for (int k = 0; k < pairs; k++)
            {
                var got = many[k].ToHost();
                Assert.That(Bits(got), Is.EqualTo(Bits(one[k].ToHost())), $"pair {k} ({sizes[k]} elements) against AddInPlace");
                for (int i = 0; i < got.Length; i++)
                {
                    double expected = (double)ys[k][i] + xs[k][i];
                    Assert.That(got[i], Is.EqualTo(expected).Within(1e-6 * Math.Abs(expected)), $"pair {k}[{i}] against float64");
                }
            }
        }
        finally
        {
            foreach (var t in many.Concat(one).Concat(x))
            {
                t.Dispose();
            }
        }
    }
}

[TestFixture]
public sealed class CpuGradientAccumulation : GradientAccumulationSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicGradientAccumulation : GradientAccumulationSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClGradientAccumulation(string platform) : GradientAccumulationSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaGradientAccumulation : GradientAccumulationSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
