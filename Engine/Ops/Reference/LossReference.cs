namespace GanEngine.Ops.Reference;

/// <summary>Float64 references of the losses (mean reduction) and their gradients.</summary>
public static class LossReference
{
    private static double Softplus(double z) => Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    /// <summary>mean(max(x,0) - x t + log(1 + exp(-|x|))) with same-shape targets; and d/dx.</summary>
    public static (double Loss, double[] Grad) BceWithLogits(double[] x, double[] t)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(t);
        double sum = 0;
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            sum += Softplus(x[i]) - (x[i] * t[i]);
            g[i] = (Sigmoid(x[i]) - t[i]) / x.Length;
        }
        return (sum / x.Length, g);
    }

    /// <summary>Non-saturating D loss BCE(real, 1) + BCE(fake, 0); gradients for real and fake.</summary>
    public static (double Loss, double[] GradReal, double[] GradFake) NonSaturatingDiscriminator(double[] real, double[] fake)
    {
        var r = BceWithLogits(real, Enumerable.Repeat(1.0, real.Length).ToArray());
        var f = BceWithLogits(fake, new double[fake.Length]);
        return (r.Loss + f.Loss, r.Grad, f.Grad);
    }

    /// <summary>Non-saturating G loss BCE(fake, 1).</summary>
    public static (double Loss, double[] Grad) NonSaturatingGenerator(double[] fake) =>
        BceWithLogits(fake, Enumerable.Repeat(1.0, fake.Length).ToArray());

    /// <summary>mean(relu(1 - real)) + mean(relu(1 + fake)); gradients (0 at the kink, as PyTorch's relu).</summary>
    public static (double Loss, double[] GradReal, double[] GradFake) HingeDiscriminator(double[] real, double[] fake)
    {
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(fake);
        double loss = real.Sum(v => Math.Max(1 - v, 0)) / real.Length + (fake.Sum(v => Math.Max(1 + v, 0)) / fake.Length);
        var gr = real.Select(v => 1 - v > 0 ? -1.0 / real.Length : 0).ToArray();
        var gf = fake.Select(v => 1 + v > 0 ? 1.0 / fake.Length : 0).ToArray();
        return (loss, gr, gf);
    }

    /// <summary>-mean(fake).</summary>
    public static (double Loss, double[] Grad) HingeGenerator(double[] fake)
    {
        ArgumentNullException.ThrowIfNull(fake);
        return (-fake.Average(), fake.Select(_ => -1.0 / fake.Length).ToArray());
    }

    /// <summary>mean((x - t)^2) and d/dx.</summary>
    public static (double Loss, double[] Grad) Mse(double[] x, double[] t)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(t);
        double sum = 0;
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double d = x[i] - t[i];
            sum += d * d;
            g[i] = 2 * d / x.Length;
        }
        return (sum / x.Length, g);
    }
}
