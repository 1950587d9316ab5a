using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Ops;
using GanEngine.Ops.Norm;
using GanEngine.Ops.Reference;

namespace GanEngine.Bench;

/// <summary>
/// BatchNorm2d training forward + backward (<c>--only norm</c>) on (64,128,16,16) and
/// (256,128,32,32) (CPU: small shapes). Rows: <c>norm</c> = forward + backward with the default plan
/// (<see cref="BatchNorm2d.Plan"/>), <c>norm-fwd</c> / <c>norm-bwd</c> the two halves, and plan
/// variants <c>norm-fused-T</c> / <c>norm-split-S</c>; <c>norm-relu</c> / <c>norm-lrelu</c> are forward +
/// backward with the activation fused (same traffic: should time as <c>norm</c>). Each shape is first checked against the float64
/// reference (y, saved mean / invstd, dx, dgamma, dbeta; worst norm-wise relative error). Rate: the
/// minimal traffic (forward reads x, writes y; backward reads x and dy, writes dx) over the time.
/// tools/peer/peer_norm.py prints the same rows for PyTorch.
/// </summary>
internal static class NormBench
{
    private const double Tolerance = 1e-4;

    public static void Register(Accelerator accelerator, BenchOptions options, Action<string, Func<BenchResult>> run)
    {
        bool cpu = accelerator.Kind == AcceleratorKind.Cpu;
        BatchNorm2dShape[] shapes = cpu ? [new(4, 16, 16, 16), new(8, 8, 32, 32)] : [new(64, 128, 16, 16), new(256, 128, 32, 32)];
        int sms = Math.Max(1, accelerator.Info.MultiprocessorCount);
        foreach (var shape in shapes)
        {
            var plan = BatchNorm2d.Plan(shape, sms);
            run("norm", () => Run(accelerator, options, "norm", shape, plan, Pass.Both));
            run("norm-fwd", () => Run(accelerator, options, "norm-fwd", shape, plan, Pass.Forward));
            run("norm-bwd", () => Run(accelerator, options, "norm-bwd", shape, plan, Pass.Backward));
            run("norm-relu", () => Run(accelerator, options, "norm-relu", shape, plan, Pass.Both, FusedActivation.Relu));
            run("norm-lrelu", () => Run(accelerator, options, "norm-lrelu", shape, plan, Pass.Both, FusedActivation.LeakyRelu));
            foreach (int threads in new[] { 256, 512, 1024 })
            {
                run($"norm-fused-{threads}", () => Run(accelerator, options, $"norm-fused-{threads}", shape, new BatchNormPlan(1, threads), Pass.Both));
            }
            foreach (int splits in new[] { 2, 4, 8, 16 })
            {
                foreach (int threads in new[] { 256, 512 })
                {
                    run($"norm-split-{splits}-{threads}", () => Run(accelerator, options, $"norm-split-{splits}-{threads}", shape, new BatchNormPlan(splits, threads), Pass.Both));
                }
            }
        }
    }

    private enum Pass { Forward, Backward, Both }

    private static BenchResult Run(Accelerator acc, BenchOptions options, string name, BatchNorm2dShape shape, BatchNormPlan plan, Pass pass,
        FusedActivation activation = FusedActivation.None)
    {
        const float slope = 0.2f;
        var rng = new Random(Environment.TickCount);
        int e = shape.Elements, c = shape.C, hw = shape.H * shape.W;
        var x = Random(rng, e, 0.5f, 1.5f);     // mean 0.5, not centred
        var dy = Random(rng, e, 0f, 1f);
        var gamma = Random(rng, c, 1f, 0.5f);
        var beta = Random(rng, c, 0f, 1f);
        using var dX = acc.Allocate<float>(x);
        using var dDy = acc.Allocate<float>(dy);
        using var dGamma = acc.Allocate<float>(gamma);
        using var dBeta = acc.Allocate<float>(beta);
        using var dRm = acc.Allocate<float>(new float[c]);
        using var dRv = acc.Allocate<float>(Enumerable.Repeat(1f, c).ToArray());
        using var dY = acc.Allocate<float>(e);
        using var dDx = acc.Allocate<float>(e);
        using var dMean = acc.Allocate<float>(c);
        using var dInvstd = acc.Allocate<float>(c);
        using var dDg = acc.Allocate<float>(c);
        using var dDb = acc.Allocate<float>(c);
        using var workspace = acc.Allocate<float>(Math.Max(1, BatchNorm2d.WorkspaceFloats(shape, plan)));
        foreach (var b in new[] { dY, dDx, dMean, dInvstd, dDg, dDb })
        {
            acc.DefaultStream.FillBytes(b.View, 0xFF);
        }
        void Forward() => BatchNorm2d.ForwardTraining(acc, shape, plan, dX, dGamma, dBeta, dY, dMean, dInvstd, dRm, dRv, workspace,
            activation: activation, negativeSlope: slope);
        void Backward() => BatchNorm2d.Backward(acc, shape, plan, dX, dDy, dMean, dInvstd, dGamma, dBeta, dDx, dDg, dDb, workspace, activation, slope);

        Forward();
        Backward();
        acc.Synchronize();
        var xd = Array.ConvertAll(x, v => (double)v);
        var gd = Array.ConvertAll(gamma, v => (double)v);
        var bd = Array.ConvertAll(beta, v => (double)v);
        var (y, mean, invstd) = BatchNormReference.ForwardTraining(xd, shape.N, c, hw, gd, bd, null, null, 0.1, 1e-5, activation, slope);
        var (dx, dg, db) = BatchNormReference.Backward(xd, Array.ConvertAll(dy, v => (double)v), shape.N, c, hw, mean, invstd, gd, bd, activation, slope);
        double error = new[]
        {
            Error(dY.ToArray(), y), Error(dMean.ToArray(), mean), Error(dInvstd.ToArray(), invstd),
            Error(dDx.ToArray(), dx), Error(dDg.ToArray(), dg), Error(dDb.ToArray(), db),
        }.Max();

        Action launch = pass switch
        {
            Pass.Forward => Forward,
            Pass.Backward => Backward,
            _ => () => { Forward(); Backward(); },
        };
        double ms = TimeMedian(acc, options, launch);
        double bytes = (pass == Pass.Forward ? 2.0 : pass == Pass.Backward ? 3.0 : 5.0) * e * sizeof(float);
        Console.WriteLine($"#   {name} {shape}: plan {plan}, {ms * 1e3:F1} us");
        return new BenchResult(name, shape.ToString(), ms, bytes / (ms * 1e-3) / 1e9, "GB/s", error, Tolerance, "");
    }

    private static double Error(float[] got, double[] reference)
    {
        double e = 0, r = 0;
        for (int i = 0; i < got.Length; i++)
        {
            double d = got[i] - reference[i];
            e += d * d;
            r += reference[i] * reference[i];
        }
        return Math.Sqrt(e / Math.Max(r, 1e-300));    // NaN propagates: an unwritten element fails
    }

    private static double TimeMedian(Accelerator acc, BenchOptions options, Action launch)
    {
        var stream = acc.DefaultStream;
        for (int i = 0; i < options.Warmup; i++)
        {
            launch();
        }
        stream.Synchronize();
        var times = new double[Math.Max(1, options.Reps)];
        for (int i = 0; i < times.Length; i++)
        {
            using var start = stream.RecordEvent();
            launch();
            using var end = stream.RecordEvent();
            end.Synchronize();
            times[i] = AcceleratorEvent.ElapsedMilliseconds(start, end);
        }
        Array.Sort(times);
        return times.Length % 2 == 1 ? times[times.Length / 2] : 0.5 * (times[(times.Length / 2) - 1] + times[times.Length / 2]);
    }

    /// <summary>centre + halfWidth * u, u uniform in [-1, 1).</summary>
    private static float[] Random(Random rng, int n, float centre, float halfWidth)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = centre + (halfWidth * (float)((2 * rng.NextDouble()) - 1));
        }
        return v;
    }
}
