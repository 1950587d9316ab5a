using GanEngine.Accelerators;
using GanEngine.Ops;
using GanEngine.Ops.Reference;

namespace GanEngine.Bench.Layers;

/// <summary>
/// The two convolution algorithms side by side (<c>--only convalgo</c>), one pass per row: forward, input gradient (dgrad)
/// and weight gradient (wgrad) of the digits DCGAN's discriminator convolutions (batch 64, kernel 4, stride 2, padding 1,
/// channels 1 -> 32 at the image resolution and 32 -> 64 at half of it), at 8x8 and 16x16, with
/// <see cref="ConvAlgorithm.ImplicitGemm"/> (TF32, the default mode) and <see cref="ConvAlgorithm.Direct"/>. Meant for the
/// CPU accelerator (docs/benchmarks-notes-conv.md). Each row is checked against the float64 reference first (whole tensor).
/// </summary>
internal sealed class ConvAlgoBench(Accelerator accelerator, Func<Action, double> timeMedian, Func<int, float[]> randomArray)
{
    private static readonly (string Name, int Size, int In, int Out)[] Layers =
    [
        ("r8-1to32", 8, 1, 32),
        ("r8-32to64", 4, 32, 64),
        ("r16-1to32", 16, 1, 32),
        ("r16-32to64", 8, 32, 64),
    ];

    private static readonly string[] Passes = ["fwd", "dgrad", "wgrad"];

    public void Register(Action<string, Func<BenchResult>> run)
    {
        const int batch = 64;
        foreach (var (name, size, cin, cout) in Layers)
        {
            var shape = new Conv2dShape(batch, cin, size, size, cout, 4, 4, 2, 2, 1, 1);
            foreach (string pass in Passes)
            {
                foreach (var algorithm in new[] { ConvAlgorithm.ImplicitGemm, ConvAlgorithm.Direct })
                {
                    string row = $"convalgo-{name}-{pass}-{(algorithm == ConvAlgorithm.Direct ? "direct" : "igemm")}";
                    run(row, () => Run(row, shape, pass, algorithm));
                }
            }
        }
    }

    private BenchResult Run(string row, Conv2dShape shape, string pass, ConvAlgorithm algorithm)
    {
        var x = randomArray((int)shape.InputElements);
        var w = randomArray((int)shape.WeightElements);
        var g = randomArray((int)shape.OutputElements);
        using var dx = accelerator.Allocate<float>(x);
        using var dw = accelerator.Allocate<float>(w);
        using var dg = accelerator.Allocate<float>(g);
        long outElements = pass switch { "fwd" => shape.OutputElements, "dgrad" => shape.InputElements, _ => shape.WeightElements };
        using var result = accelerator.Allocate<float>((int)outElements);
        using var fws = accelerator.Allocate<float>((int)Math.Max(1, Conv2d.ForwardWorkspaceElements(shape)));
        using var wws = accelerator.Allocate<float>((int)Math.Max(1, Conv2d.BackwardWeightWorkspaceElements(shape)));
        var stream = accelerator.DefaultStream;
        stream.FillBytes(result.View, 0xFF);
        const MathMode mode = MathMode.Tf32;
        void Launch()
        {
            switch (pass)
            {
                case "fwd":
                    Conv2d.Forward(stream, shape, dx.ReadOnly, dw.ReadOnly, null, result.View, fws.View, mode, algorithm);
                    break;
                case "dgrad":
                    Conv2d.BackwardInput(stream, shape, dg.ReadOnly, dw.ReadOnly, result.View, mode, algorithm);
                    break;
                default:
                    Conv2d.BackwardWeight(stream, shape, dx.ReadOnly, dg.ReadOnly, result.View, null, wws.View, mode, algorithm);
                    break;
            }
        }

        Launch();
        stream.Synchronize();
        var got = result.ToArray();
        double[] xd = ConvReference.ToDouble(x), wd = ConvReference.ToDouble(w), gd = ConvReference.ToDouble(g);
        var reference = pass switch
        {
            "fwd" => ConvReference.Conv2dForward(shape, xd, wd, null),
            "dgrad" => ConvReference.Conv2dBackwardInput(shape, gd, wd),
            _ => ConvReference.Conv2dBackwardWeight(shape, xd, gd),
        };
        double es = 0, rs = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = got[i] - reference[i];
            es += double.IsFinite(got[i]) ? d * d : double.PositiveInfinity;
            rs += reference[i] * reference[i];
        }
        double error = Math.Sqrt(es / Math.Max(rs, double.Epsilon));
        double ms = timeMedian(Launch);
        string text = $"{shape.Batch}x{shape.InChannels}x{shape.Height}x{shape.Width} -> {shape.OutChannels}x{shape.OutHeight}x{shape.OutWidth} k4 s2 p1";
        return new BenchResult(row, text, ms, 2.0 * shape.MacCount / (ms * 1e-3) / 1e9, "GFLOP/s", error,
            algorithm == ConvAlgorithm.Direct ? 1e-4 : 2e-3, "");
    }
}
