using GanEngine.Accelerators;
using GanEngine.Memory;
using GanEngine.Ops.Loss;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Autograd;

/// <summary>Autograd of a composite graph against a hand-derived float64 reference, autograd
/// semantics (accumulation, zeroing, no_grad, detach), and the allocator's steady state, on one
/// accelerator (bound to each in TensorBindings.cs).</summary>
public abstract class AutogradSuite : AcceleratorSuite
{
    private const int N = 3, C = 4, K = 5;
    private const float Slope = 0.2f;

    private static float[] Random(Random rng, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).Select(v => v == 0 ? 0.5f : v).ToArray();

    /// <summary>loss = BCEWithLogits(sum_k leaky(x * w + b)[n, c, k], t) with x (N,C,K), w (K), b (C,1).</summary>
    private static Tensor Forward(Tensor x, Tensor w, Tensor b, Tensor t)
    {
        var z = (x * w) + b;
        var h = z.LeakyRelu(Slope);
        var s = h.Sum([2]);
        return Losses.BceWithLogits(s, t);
    }

    private static (double Loss, double[] Gx, double[] Gw, double[] Gb) Reference(float[] x, float[] w, float[] b, float[] t)
    {
        var z = new double[N * C * K];
        var s = new double[N * C];
        for (int n = 0; n < N; n++)
        {
            for (int c = 0; c < C; c++)
            {
                for (int k = 0; k < K; k++)
                {
                    int i = (((n * C) + c) * K) + k;
                    z[i] = ((double)x[i] * w[k]) + b[c];
                    s[(n * C) + c] += z[i] > 0 ? z[i] : Slope * z[i];
                }
            }
        }
        double loss = 0;
        var gs = new double[N * C];
        for (int j = 0; j < N * C; j++)
        {
            loss += Math.Max(s[j], 0) - (s[j] * t[j]) + Math.Log(1 + Math.Exp(-Math.Abs(s[j])));
            gs[j] = ((1 / (1 + Math.Exp(-s[j]))) - t[j]) / (N * C);
        }
        var gx = new double[N * C * K];
        var gw = new double[K];
        var gb = new double[C];
        for (int n = 0; n < N; n++)
        {
            for (int c = 0; c < C; c++)
            {
                for (int k = 0; k < K; k++)
                {
                    int i = (((n * C) + c) * K) + k;
                    double gz = gs[(n * C) + c] * (z[i] > 0 ? 1 : Slope);
                    gx[i] = gz * w[k];
                    gw[k] += gz * x[i];
                    gb[c] += gz;
                }
            }
        }
        return (loss / (N * C), gx, gw, gb);
    }

    private static void AssertClose(float[] got, double[] expected, string what, double scale = 1)
    {
        Assert.That(got, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < got.Length; i++)
        {
            Assert.That(got[i], Is.EqualTo(expected[i] * scale).Within(1e-6 + (1e-4 * Math.Abs(expected[i] * scale))), $"{what}[{i}]");
        }
    }

    [Test]
    public void CompositeGraph_MatchesHandDerivedReference_AndAccumulates()
    {
        var rng = new Random(42);
        var x = Random(rng, N * C * K);
        var w = Random(rng, K);
        var b = Random(rng, C);
        var t = Enumerable.Range(0, N * C).Select(_ => (float)rng.NextDouble()).ToArray();
        using var px = Parameter.FromHost(Acc, x, N, C, K);
        using var pw = Parameter.FromHost(Acc, w, K);
        using var pb = Parameter.FromHost(Acc, b, C, 1);
        var (loss, gx, gw, gb) = Reference(x, w, b, t);
        for (int pass = 1; pass <= 2; pass++)
        {
            using var scope = new TensorScope(Acc);
            var l = Forward(px, pw, pb, Tensor.FromHost(Acc, t, N, C));
            l.Backward();
            Assert.That(l.Item(), Is.EqualTo(loss).Within(1e-5));
            // Gradients accumulate across Backward calls (PyTorch semantics).
            AssertClose(px.Grad!.ToHost(), gx, "dx", pass);
            AssertClose(pw.Grad!.ToHost(), gw, "dw", pass);
            AssertClose(pb.Grad!.ToHost(), gb, "db", pass);
        }
        pw.ZeroGrad(setToNone: false);
        Assert.That(pw.Grad!.ToHost(), Is.All.EqualTo(0f));
        px.ZeroGrad();
        Assert.That(px.Grad, Is.Null);
    }

    [Test]
    public void NoGrad_Detach_AndFreedGraph()
    {
        using var p = Parameter.FromHost(Acc, [1f, 2f, 3f], 3);
        using var scope = new TensorScope(Acc);
        using (global::GanEngine.Tensors.Autograd.NoGrad())
        {
            var y = p * 2f;
            Assert.That(y.RequiresGrad, Is.False);
            Assert.That(y.GradFn, Is.Null);
        }
        var d = (p * 2f).Detach();
        Assert.That(d.RequiresGrad, Is.False);
        Assert.That(d.IsLeaf, Is.True);
        var l = (p * p).Sum();
        Assert.That(l.GradFn, Is.Not.Null);
        l.Backward();
        Assert.That(p.Grad!.ToHost(), Is.EqualTo(new float[] { 2, 4, 6 }));
        Assert.That(() => l.Backward(), Throws.InvalidOperationException);
        var m = (p * 3f).Sum();
        m.Backward(retainGraph: true);
        m.Backward();
        Assert.That(p.Grad!.ToHost(), Is.EqualTo(new float[] { 8, 10, 12 }));
    }

    [Test]
    public void Scope_DisposesIntermediates_AndKeep_And_ViewsKeepStorage()
    {
        var allocator = CachingAllocator.For(Acc);
        long before = allocator.Statistics.BytesInUse;
        Tensor kept;
        using (var scope = new TensorScope(Acc))
        {
            var a = Tensor.Full(Acc, [100], 2f);
            var b = a * a + 1f;
            kept = scope.Keep(b.Sum());
            Assert.That(allocator.Statistics.BytesInUse, Is.GreaterThan(before));
        }
        Assert.That(kept.Item(), Is.EqualTo(500f));
        kept.Dispose();
        Assert.That(allocator.Statistics.BytesInUse, Is.EqualTo(before), "scope end and Dispose return all memory");

        var t = Tensor.FromHost(Acc, [1f, 2f, 3f, 4f], 2, 2);
        var tt = t.Transpose(0, 1);
        var v = tt.Slice(0, 1, 1);
        t.Dispose();
        tt.Dispose();
        Assert.That(v.Storage.References, Is.EqualTo(1));
        Assert.That(v.ToHost(), Is.EqualTo(new float[] { 2f, 4f }), "a view keeps the storage alive");
        Assert.That(() => t.ToHost(), Throws.InstanceOf<ObjectDisposedException>());
        v.Dispose();
        Assert.That(allocator.Statistics.BytesInUse, Is.EqualTo(before));
    }

    [Test]
    public void Allocator_SteadyState_NoDriverAllocation_NoHostSync()
    {
        var allocator = new CachingAllocator(Acc);
        var stream = Acc.DefaultStream;
        long driver = 0;
        for (int iteration = 0; iteration < 5; iteration++)
        {
            if (iteration == 1)
            {
                driver = Acc.DriverAllocations;
            }
            var blocks = new[] { 100, 5000, 3 << 20, 100, 77 }.Select(n => allocator.Allocate(n, stream)).ToList();
            foreach (var block in blocks)
            {
                allocator.Free(block);
            }
        }
        Assert.That(Acc.DriverAllocations, Is.EqualTo(driver), "no driver allocation after the first iteration");
        var stats = allocator.Statistics;
        Assert.That(stats.DriverAllocations, Is.EqualTo(5));
        Assert.That(stats.CacheHits, Is.EqualTo(20));
        Assert.That(stats.BytesInUse, Is.Zero);
        Assert.That(stats.BytesCached, Is.EqualTo((2 * 512) + 5120 + (4 << 20) + 512));
        long frees = Acc.DriverFrees;
        allocator.EmptyCache();
        Assert.That(Acc.DriverFrees - frees, Is.EqualTo(5));
        Assert.That(allocator.Statistics.BytesCached, Is.Zero);
        allocator.Dispose();
    }

    [Test]
    public void Allocator_CrossStreamBlock_ReturnsAfterEvent_AndPerStreamPools()
    {
        using var allocator = new CachingAllocator(Acc);
        using var other = Acc.CreateStream();
        var block = allocator.Allocate(1000, Acc.DefaultStream);
        block.RecordStream(other);
        allocator.Free(block);
        other.Synchronize();
        var again = allocator.Allocate(1000, Acc.DefaultStream);
        Assert.That(again, Is.SameAs(block), "reused on its own stream once the other stream's event completed");
        var onOther = allocator.Allocate(1000, other);
        Assert.That(onOther, Is.Not.SameAs(block), "pools are per stream");
        allocator.Free(again);
        allocator.Free(onOther);
        Assert.That(allocator.Statistics.CacheHits, Is.EqualTo(1));
        Assert.That(allocator.Statistics.DriverAllocations, Is.EqualTo(2));
    }

    [Test]
    public void ViewOps_Backward_PermuteSliceExpandReshape()
    {
        var rng = new Random(77);
        var x = Random(rng, 2 * 3 * 4);
        var b = Random(rng, 3);
        var w = Random(rng, 2 * 2 * 3);
        using var px = Parameter.FromHost(Acc, x, 2, 3, 4);
        using var pb = Parameter.FromHost(Acc, b, 3, 1);
        using (var scope = new TensorScope(Acc))
        {
            // y[k, i, j] = x[i, j, k + 1] for k < 2, plus b[j] expanded; flattened and weighted.
            var y = px.Permute(2, 0, 1).Slice(0, 1, 2) + pb.View(3).Expand(2, 2, 3);
            (y.Reshape(-1) * Tensor.FromHost(Acc, w, 12)).Sum().Backward();
        }
        var gx = new double[24];
        var gb = new double[3];
        for (int k = 0; k < 2; k++)
        {
            for (int i = 0; i < 2; i++)
            {
                for (int j = 0; j < 3; j++)
                {
                    double wv = w[(((k * 2) + i) * 3) + j];
                    gx[(((i * 3) + j) * 4) + k + 1] += wv;
                    gb[j] += wv;
                }
            }
        }
        AssertClose(px.Grad!.ToHost(), gx, "dx");
        AssertClose(pb.Grad!.ToHost(), gb, "db");
    }

    [Test]
    public void TrainingStep_SteadyState_NoDriverAllocation_NoHostSync()
    {
        var rng = new Random(5);
        using var px = Parameter.FromHost(Acc, Random(rng, N * C * K), N, C, K);
        using var pw = Parameter.FromHost(Acc, Random(rng, K), K);
        using var pb = Parameter.FromHost(Acc, Random(rng, C), C, 1);
        using var target = Tensor.FromHost(Acc, Random(rng, N * C), N, C);
        long allocations = 0, syncs = 0;
        for (int iteration = 0; iteration < 4; iteration++)
        {
            if (iteration == 1)
            {
                allocations = Acc.DriverAllocations;
                syncs = Acc.HostSynchronizations;
            }
            using var scope = new TensorScope(Acc);
            px.ZeroGrad();
            pw.ZeroGrad();
            pb.ZeroGrad();
            var l = Forward(px, pw, pb, target);
            var hinge = Losses.HingeDiscriminator(l.View(1), (l * 0.5f).View(1));
            (l + hinge).Backward();
        }
        Assert.That(Acc.DriverAllocations, Is.EqualTo(allocations), "driver allocations after the first iteration");
        Assert.That(Acc.HostSynchronizations, Is.EqualTo(syncs), "host synchronisations in the step");
        _ = px.Grad!.ToHost();
        Assert.That(Acc.HostSynchronizations, Is.GreaterThan(syncs), "ToHost synchronises (counted)");
    }
}
