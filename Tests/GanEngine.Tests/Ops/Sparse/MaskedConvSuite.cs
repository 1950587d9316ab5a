using GanEngine.Accelerators;
using GanEngine.Accelerators.Cpu;
using GanEngine.Kernels;
using GanEngine.Ops;
using GanEngine.Ops.Reference;
using GanEngine.Ops.Sparse;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Sparse;

/// <summary>
/// Masked convolution (<see cref="MaskedConv2d"/>) against the float64 dense conv references with W .* mask, on one
/// accelerator: odd sizes, kernel 1/3/4, stride 1/2, padding 0/1, sparsity 0/50/90% with an empty output channel and an
/// empty input channel forced, default and small tilings (several chunks, several tiles per slice, partial blocks).
/// Outputs and workspace are poisoned (NaN) first and W holds garbage at masked positions; the weight gradient must be
/// exactly 0 off the mask, the input gradient of the empty input channel exactly 0, and a repeated weight gradient
/// bit-identical. Norm-wise tolerance 1e-5 (FP32).
/// </summary>
public abstract class MaskedConvSuite
{
    private const double Tolerance = 1e-5;
    private Accelerator _acc = null!;

    protected abstract Accelerator CreateAccelerator();

    [OneTimeSetUp]
    public void Create() => _acc = CreateAccelerator();

    [OneTimeTearDown]
    public void Destroy() => _acc?.Dispose();

    private static float[] RandomFloats(Random rng, long n)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++)
        {
            float v;
            do { v = (float)((rng.NextDouble() * 2) - 1); } while (v == 0f);
            a[i] = v;
        }
        return a;
    }

    // (batch, in, h, w, out, kernel, stride, pad, sparsity, bias, tiling: 0 default, 1 small, 2 smallest)
    private static readonly object[] Cases =
    [
        new object[] { 2, 3, 9, 7, 5, 3, 1, 1, 0.0, true, 0 },
        new object[] { 2, 4, 8, 8, 6, 4, 2, 1, 0.5, true, 0 },
        new object[] { 1, 5, 11, 10, 7, 1, 1, 0, 0.9, false, 0 },
        new object[] { 3, 6, 7, 9, 10, 3, 2, 0, 0.5, true, 1 },
        new object[] { 2, 7, 6, 5, 9, 4, 1, 1, 0.9, false, 1 },
        new object[] { 1, 17, 6, 6, 12, 4, 2, 1, 0.5, true, 1 },
        new object[] { 2, 9, 5, 5, 37, 3, 1, 1, 0.9, false, 2 },
        new object[] { 1, 3, 13, 11, 40, 4, 2, 1, 0.0, false, 2 },
    ];

    private static MaskedConvTiling? TilingOf(int kind) => kind switch
    {
        1 => new MaskedConvTiling(64, 2, 16, 2),
        2 => new MaskedConvTiling(32, 1, 8, 3),
        _ => null,
    };

    [TestCaseSource(nameof(Cases))]
    public void Passes_MatchReference(int batch, int inC, int h, int w, int outC, int k, int stride, int pad, double sparsity, bool withBias, int tilingKind)
    {
        var shape = new Conv2dShape(batch, inC, h, w, outC, k, k, stride, stride, pad, pad);
        shape.Validate();
        var rng = new Random(HashCode.Combine(batch, inC, h, outC, k, stride, sparsity, tilingKind));
        int rows = outC, cols = inC * k * k;
        var weight = RandomFloats(rng, shape.WeightElements);
        var mask = new float[rows * cols];
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = rng.NextDouble() >= sparsity ? 1f : 0f;
        }
        for (int j = 0; j < cols && rows > 1; j++) mask[cols + j] = 0f;                       // output channel 1 empty
        for (int i = 0; i < rows && inC > 1; i++)
        for (int t = 0; t < k * k; t++) mask[(i * cols) + (k * k) + t] = 0f;                   // input channel 1 empty
        var input = RandomFloats(rng, shape.InputElements);
        var gradOut = RandomFloats(rng, shape.OutputElements);
        var bias = RandomFloats(rng, outC);

        using var storage = new MaskedCsrStorage(_acc, new MaskedWeightShape(rows, cols));
        var csr = storage.Csr;
        using var dW = _acc.Allocate<float>(weight);
        using var dMask = _acc.Allocate<float>(mask);
        using var dIn = _acc.Allocate<float>(input);
        using var dGo = _acc.Allocate<float>(gradOut);
        using var dB = _acc.Allocate<float>(bias);
        using var y = _acc.Allocate<float>((int)shape.OutputElements);
        using var gIn = _acc.Allocate<float>((int)shape.InputElements);
        using var gVals = _acc.Allocate<float>(rows * cols);
        using var gDense = _acc.Allocate<float>(rows * cols);
        using var gBias = _acc.Allocate<float>(outC);
        var tiling = TilingOf(tilingKind);
        using var work = _acc.Allocate<float>((int)MaskedConv2d.BackwardWeightWorkspaceElements(_acc, shape, csr.Shape, tiling));
        foreach (var b in new[] { y, gIn, gVals, gDense, gBias, work })
        {
            _acc.DefaultStream.FillBytes(b.View, 0xFF);
        }
        MaskedSparse.Build(_acc, csr, dW.ReadOnly, dMask.ReadOnly);
        MaskedConv2d.Forward(_acc, shape, csr, dIn.ReadOnly, withBias ? dB.ReadOnly : null, y.View, tiling);
        MaskedConv2d.BackwardInput(_acc, shape, csr, dGo.ReadOnly, gIn.View, tiling);
        MaskedConv2d.BackwardWeight(_acc, shape, csr, dIn.ReadOnly, dGo.ReadOnly, gVals.View, withBias ? gBias.View : null, work.View, tiling);
        MaskedSparse.ScatterToDense(_acc, csr, gVals.View, gDense.View);
        _acc.Synchronize();
        var yHost = y.ToArray();
        var gInHost = gIn.ToArray();
        var gDenseHost = gDense.ToArray();
        var first = gVals.ToArray();
        var gBiasHost = gBias.ToArray();

        // Repeat the weight gradient on a poisoned workspace: bit-identical.
        _acc.DefaultStream.FillBytes(work.View, 0xFF);
        _acc.DefaultStream.FillBytes(gVals.View, 0xFF);
        MaskedConv2d.BackwardWeight(_acc, shape, csr, dIn.ReadOnly, dGo.ReadOnly, gVals.View, null, work.View, tiling);
        _acc.Synchronize();
        var second = gVals.ToArray();

        double eY = SparseReference.RelativeError(yHost, MaskedConvReference.Forward(shape, input, weight, mask, withBias ? bias : null));
        double eX = SparseReference.RelativeError(gInHost, MaskedConvReference.BackwardInput(shape, gradOut, weight, mask));
        var wantDense = MaskedConvReference.BackwardWeight(shape, input, gradOut, mask);
        double eW = SparseReference.RelativeError(gDenseHost, wantDense);
        var wantValues = MaskedConvReference.BackwardWeightValues(shape, input, gradOut, mask);
        double eV = SparseReference.RelativeError(first.AsSpan(0, wantValues.Length), wantValues);
        TestContext.Out.WriteLine($"fwd {eY:E2}, dgrad {eX:E2}, wgrad {eW:E2} (values {eV:E2}, nnz {wantValues.Length})");
        Assert.Multiple(() =>
        {
            Assert.That(eY, Is.LessThanOrEqualTo(Tolerance), "forward");
            Assert.That(eX, Is.LessThanOrEqualTo(Tolerance), "input gradient");
            Assert.That(eW, Is.LessThanOrEqualTo(Tolerance), "weight gradient (dense)");
            Assert.That(eV, Is.LessThanOrEqualTo(Tolerance), "weight gradient (CSR values)");
            for (int i = 0; i < mask.Length; i++)
            {
                if (mask[i] == 0f)
                {
                    Assert.That(BitConverter.SingleToInt32Bits(gDenseHost[i]), Is.Zero, $"weight gradient {i} off the mask");
                }
            }
            if (inC > 1)
            {
                int hw = h * w;
                for (int n = 0; n < batch; n++)
                for (int p = 0; p < hw; p++)
                {
                    float v = gInHost[(((n * inC) + 1) * hw) + p];
                    if (BitConverter.SingleToInt32Bits(v) != 0)
                    {
                        Assert.Fail($"input gradient of the empty input channel is {v} at ({n}, 1, {p})");
                    }
                }
            }
            for (int q = 0; q < wantValues.Length; q++)
            {
                if (BitConverter.SingleToInt32Bits(second[q]) != BitConverter.SingleToInt32Bits(first[q]))
                {
                    Assert.Fail($"repeated weight gradient differs at {q}: {first[q]} then {second[q]}");
                }
            }
            if (withBias)
            {
                var wantBias = ConvReference.BiasGrad(batch, outC, shape.OutHeight * shape.OutWidth, ConvReference.ToDouble(gradOut));
                Assert.That(SparseReference.RelativeError(gBiasHost, wantBias), Is.LessThanOrEqualTo(Tolerance), "bias gradient");
            }
        });
    }

    [Test]
    public void WrongWeightShape_Throws()
    {
        var shape = new Conv2dShape(1, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1);
        using var storage = new MaskedCsrStorage(_acc, new MaskedWeightShape(4, 26));
        using var x = _acc.Allocate<float>((int)shape.InputElements);
        using var y = _acc.Allocate<float>((int)shape.OutputElements);
        Assert.Throws<ArgumentException>(() => MaskedConv2d.Forward(_acc, shape, storage.Csr, x.ReadOnly, null, y.View));
    }
}

[TestFixture]
public sealed class CpuMaskedConv : MaskedConvSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator();
}

/// <summary>The CPU accelerator in its deterministic mode (fixed scheduling of blocks).</summary>
[TestFixture]
public sealed class CpuDeterministicMaskedConv : MaskedConvSuite
{
    protected override Accelerator CreateAccelerator() => new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
}

[TestFixture("Portable Computing Language")]
[TestFixture("NVIDIA")]
public sealed class OpenClMaskedConv(string platform) : MaskedConvSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.OpenCl(platform);
}

[TestFixture]
public sealed class CudaMaskedConv : MaskedConvSuite
{
    protected override Accelerator CreateAccelerator() => TestAccelerators.Cuda();
}
