using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Nn;
using GanEngine.Ops.Index;
using GanEngine.Ops.Reference;
using GanEngine.Tensors;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Index;

/// <summary>The float64 backward reference of index_select (scatter-add) against central
/// differences of its forward reference.</summary>
[TestFixture]
public sealed class IndexReferenceTests
{
    [TestCase(2, 5, 3)]
    [TestCase(1, 4, 1)]
    public void SelectBackward_MatchesFiniteDifferences(int outer, int size, int inner)
    {
        var rng = new Random(outer + (10 * size) + (100 * inner));
        double[] indices = [size - 1, 0, 0, 2, size - 1, 1];
        var x = Enumerable.Range(0, outer * size * inner).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var g = Enumerable.Range(0, outer * indices.Length * inner).Select(_ => rng.NextDouble() - 0.5).ToArray();
        FiniteDifferences.Check(v => FiniteDifferences.Dot(IndexReference.Select(v, outer, size, inner, indices), g), x,
            IndexReference.SelectBackward(g, outer, size, inner, indices), "index_select");
    }
}

/// <summary><see cref="Functional.IndexSelect"/> (gather, and scatter-add in the backward) and the raw
/// <see cref="IndexSelect"/> ops against the float64 references, along every kind of dimension,
/// with repeated and omitted indices (growing and pruning a layer).</summary>
public abstract class IndexSelectSuite : FunctionalOpsTestBase
{
    private static readonly (int[] Shape, int Dim, float[] Indices)[] Cases =
    [
        ([5, 3, 4], 0, [4f, 0f, 0f, 2f]),
        ([2, 7, 3], 1, [6f, 1f, 1f, 1f, 3f, 0f, 6f, 5f, 2f]),
        ([3, 4, 9], -1, [8f, 0f, 3f, 3f, 7f, 1f, 2f, 5f, 4f, 6f, 0f, 8f, 8f]),
        ([11], 0, [10f, 3f, 7f]),
        ([6, 3, 3, 3], 0, [0f, 1f, 2f, 3f, 4f, 5f, 1f, 4f, 4f]), // grow: copy filters 1 and 4
        ([4, 6, 3, 3], 1, [0f, 2f, 5f]), // prune input channels of the next layer
    ];

    [Test]
    public void IndexSelect_ForwardAndBackward_MatchReference([Range(0, 5)] int caseIndex)
    {
        var (shape, dim, indices) = Cases[caseIndex];
        int d = dim < 0 ? dim + shape.Length : dim;
        int outer = shape.Take(d).Aggregate(1, (a, b) => a * b);
        int inner = shape.Skip(d + 1).Aggregate(1, (a, b) => a * b);
        int size = shape[d];
        var rng = new Random(caseIndex + 40);
        var x = RandomFloats(rng, outer * size * inner);
        var g = RandomFloats(rng, outer * indices.Length * inner);
        using var px = Parameter.FromHost(Acc, x, shape);
        using (var scope = new TensorScope(Acc))
        {
            var idx = Tensor.FromHost(Acc, indices, indices.Length);
            var y = Functional.IndexSelect(px, dim, idx);
            var expectedShape = (int[])shape.Clone();
            expectedShape[d] = indices.Length;
            Assert.That(y.Shape, Is.EqualTo(expectedShape));
            AssertClose(y.ToHost(), IndexReference.Select(D(x), outer, size, inner, D(indices)), "forward", 0);
            BackwardWith(y, g);
        }
        AssertClose(px.Grad!.ToHost(), IndexReference.SelectBackward(D(g), outer, size, inner, D(indices)), "input gradient");
    }

    [Test]
    public void RawOps_WriteEveryElement_AndBackwardAccumulates()
    {
        var shape = new IndexSelectShape(3, 5, 7, 6);
        float[] indices = [4f, 4f, 0f, 2f, 1f, 4f]; // slice 3 is never selected: its gradient must be 0 (or the old value)
        var rng = new Random(77);
        var x = RandomFloats(rng, shape.SourceElements);
        var g = RandomFloats(rng, shape.SelectedElements);
        var old = RandomFloats(rng, shape.SourceElements);
        double[] di = D(indices);
        using var bx = Acc.Allocate<float>(x);
        using var bi = Acc.Allocate<float>(indices);
        using var bg = Acc.Allocate<float>(g);
        using var by = Poisoned(shape.SelectedElements);
        using var bgx = Poisoned(shape.SourceElements);
        using var bacc = Acc.Allocate<float>(old);
        var stream = Acc.DefaultStream;
        IndexSelect.Forward(stream, shape, bx.ReadOnly, bi.ReadOnly, by.View);
        IndexSelect.Backward(stream, shape, bg.ReadOnly, bi.ReadOnly, bgx.View);
        IndexSelect.Backward(stream, shape, bg.ReadOnly, bi.ReadOnly, bacc.View, accumulate: true);
        Acc.Synchronize();
        AssertClose(by.ToArray(), IndexReference.Select(D(x), 3, 5, 7, di), "gather into a poisoned buffer", 0);
        var scattered = IndexReference.SelectBackward(D(g), 3, 5, 7, di);
        AssertClose(bgx.ToArray(), scattered, "scatter-add into a poisoned buffer");
        AssertClose(bacc.ToArray(), scattered.Select((v, i) => v + old[i]).ToArray(), "scatter-add accumulating");
    }

    [Test]
    public void InvalidIndices_SelectZeros_AndReceiveNothing()
    {
        // -1, size, NaN and 1e9 are invalid; 2.2 rounds to 2 (floats holding integers are expected).
        int[] shape = [4, 3];
        float[] indices = [1f, -1f, 4f, float.NaN, 1e9f, 2.2f];
        var rng = new Random(9);
        var x = RandomFloats(rng, 12);
        var g = RandomFloats(rng, indices.Length * 3);
        using var px = Parameter.FromHost(Acc, x, shape);
        using (var scope = new TensorScope(Acc))
        {
            var y = Functional.IndexSelect(px, 0, Tensor.FromHost(Acc, indices, indices.Length));
            var got = y.ToHost();
            AssertClose(got, IndexReference.Select(D(x), 1, 4, 3, D(indices)), "forward", 0);
            Assert.That(got.Skip(3).Take(12), Is.All.EqualTo(0f), "invalid indices select zeros");
            BackwardWith(y, g);
        }
        AssertClose(px.Grad!.ToHost(), IndexReference.SelectBackward(D(g), 1, 4, 3, D(indices)), "input gradient");
    }

    [Test]
    public void InvalidArguments_ThrowArgumentException()
    {
        using var scope = new TensorScope(Acc);
        var x = Tensor.FromHost(Acc, RandomFloats(new Random(1), 12), 3, 4);
        var idx = Tensor.FromHost(Acc, [0f, 1f], 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.IndexSelect(x, 2, idx));
        Assert.Throws<ArgumentException>(() => Functional.IndexSelect(x.Transpose(0, 1), 0, idx), "not contiguous");
        Assert.Throws<ArgumentException>(() => Functional.IndexSelect(x, 0, idx.View(1, 2)), "indices of rank 2");
    }

    private DeviceBuffer<float> Poisoned(int length)
    {
        var buffer = Acc.Allocate<float>(length);
        Acc.DefaultStream.FillBytes(buffer.View, 0xFF);
        return buffer;
    }
}

[TestFixture]
public sealed class CpuIndexSelectOps : IndexSelectSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

[TestFixture]
public sealed class CpuDeterministicIndexSelectOps : IndexSelectSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClIndexSelectOps(string platform) : IndexSelectSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaIndexSelectOps : IndexSelectSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
