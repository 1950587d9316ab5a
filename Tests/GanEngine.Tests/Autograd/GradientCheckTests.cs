using GanEngine.Ops.Elementwise;
using GanEngine.Ops.Reference;
using NUnit.Framework;

namespace GanEngine.Tests.Autograd;

/// <summary>Finite-difference checks, in float64 on the host, of every backward reference against
/// central differences of its forward reference: the references the kernels are tested against are
/// themselves right.</summary>
[TestFixture]
public sealed class GradientCheckTests
{
    private const double H = 1e-6;

    private static double[] Random(Random rng, int n, double lo, double hi) =>
        Enumerable.Range(0, n).Select(_ => lo + ((hi - lo) * rng.NextDouble())).ToArray();

    /// <summary>Checks analytic gradient <paramref name="grad"/> of scalar f at x by central differences.</summary>
    private static void Check(Func<double[], double> f, double[] x, double[] grad, string what)
    {
        for (int i = 0; i < x.Length; i++)
        {
            var plus = (double[])x.Clone();
            var minus = (double[])x.Clone();
            plus[i] += H;
            minus[i] -= H;
            double numeric = (f(plus) - f(minus)) / (2 * H);
            Assert.That(grad[i], Is.EqualTo(numeric).Within(1e-6 + (1e-5 * Math.Abs(numeric))), $"{what}[{i}]");
        }
    }

    private static double Dot(double[] a, double[] b) => a.Select((v, i) => v * b[i]).Sum();

    [Test]
    public void Unary([Values] UnaryOp op)
    {
        var rng = new Random((int)op);
        var x = Random(rng, 9, 0.1, 2).Select((v, i) => op is UnaryOp.Log or UnaryOp.Sqrt || i % 2 == 0 ? v : -v).ToArray();
        var w = Random(rng, 9, -1, 1);
        var grad = ElementwiseReference.UnaryBackward(op, 0.3, x, w);
        Check(v => Dot(ElementwiseReference.Unary(op, 0.3, 0, v), w), x, grad, op.ToString());
    }

    [Test]
    public void Binary_WithBroadcasting([Values(BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.BceWithLogits)] BinaryOp op)
    {
        var rng = new Random(10 + (int)op);
        int[] aShape = [2, 3, 4], bShape = [3, 1];
        var a = Random(rng, 24, -2, 2);
        var b = Random(rng, 3, 0.5, 1.5);
        var w = Random(rng, 24, -1, 1);
        var (ga, gb) = ElementwiseReference.BinaryBackward(op, a, aShape, b, bShape, w);
        Check(v => Dot(ElementwiseReference.Binary(op, v, aShape, b, bShape, out _), w), a, ga, $"{op} a");
        Check(v => Dot(ElementwiseReference.Binary(op, a, aShape, v, bShape, out _), w), b, gb, $"{op} b");
    }

    [Test]
    public void SumAndMean([Values] bool mean)
    {
        var rng = new Random(20);
        int[] shape = [3, 4, 5];
        int[] dims = [0, 2];
        double scale = mean ? 1.0 / 15 : 1;
        var x = Random(rng, 60, -1, 1);
        var w = Random(rng, 4, -1, 1);
        var grad = ReductionReference.SumBackward(w, shape, dims, scale);
        Check(v => Dot(ReductionReference.Sum(v, shape, dims, scale), w), x, grad, "sum");
    }

    [Test]
    public void Losses()
    {
        var rng = new Random(30);
        var x = Random(rng, 7, -3, 3);
        var y = Random(rng, 7, -3, 3);
        var t = Random(rng, 7, 0, 1);
        Check(v => LossReference.BceWithLogits(v, t).Loss, x, LossReference.BceWithLogits(x, t).Grad, "bce");
        Check(v => LossReference.Mse(v, t).Loss, x, LossReference.Mse(x, t).Grad, "mse");
        Check(v => LossReference.NonSaturatingGenerator(v).Loss, x, LossReference.NonSaturatingGenerator(x).Grad, "nsG");
        Check(v => LossReference.NonSaturatingDiscriminator(v, y).Loss, x, LossReference.NonSaturatingDiscriminator(x, y).GradReal, "nsD real");
        Check(v => LossReference.NonSaturatingDiscriminator(x, v).Loss, y, LossReference.NonSaturatingDiscriminator(x, y).GradFake, "nsD fake");
        Check(v => LossReference.HingeDiscriminator(v, y).Loss, x, LossReference.HingeDiscriminator(x, y).GradReal, "hinge real");
        Check(v => LossReference.HingeDiscriminator(x, v).Loss, y, LossReference.HingeDiscriminator(x, y).GradFake, "hinge fake");
        Check(v => LossReference.HingeGenerator(v).Loss, y, LossReference.HingeGenerator(y).Grad, "hingeG");
    }
}
