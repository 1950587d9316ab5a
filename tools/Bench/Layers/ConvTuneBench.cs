using System.Globalization;
using GanEngine.Accelerators;
using GanEngine.Kernels;
using GanEngine.Kernels.Conv;
using GanEngine.Ops;

namespace GanEngine.Bench.Layers;

/// <summary>
/// One-off tuning sweep (<c>--only convtune</c>) over the implicit-GEMM launches of a DCGAN-32 training iteration at batch 64
/// and 256: for each launch (kernel mode, geometry), every candidate plan (tile, split-K, direct for narrow dgrad) is checked
/// against the default plan's result (relative L2 difference) and timed (median of device-event times, SumSplits included).
/// Prints one line per candidate and, last, the best plan of each launch as <see cref="ConvTuning"/> table entries.
/// </summary>
internal sealed class ConvTuneBench(Accelerator accelerator, Func<Action, double> timeMedian, Func<int, float[]> randomArray)
{
    // (name, transposed, in, size, out, kernel, stride, pad): the eight DCGAN-32 layers.
    private static readonly (string Name, bool Transposed, int In, int Size, int Out, int K, int S, int P)[] Layers =
    [
        ("conv1", false, 3, 32, 128, 4, 2, 1),
        ("conv2", false, 128, 16, 256, 4, 2, 1),
        ("conv3", false, 256, 8, 512, 4, 2, 1),
        ("conv4", false, 512, 4, 1, 4, 1, 0),
        ("convT1", true, 128, 1, 512, 4, 1, 0),
        ("convT2", true, 512, 4, 256, 4, 2, 1),
        ("convT3", true, 256, 8, 128, 4, 2, 1),
        ("convT4", true, 128, 16, 3, 4, 2, 1),
    ];

    public void Register(Action<string, Func<BenchResult>> run)
    {
        var best = new List<string>();
        // CONVTUNE_BATCHES (comma-separated) overrides the batches (a quick smoke run on the CPU accelerator: 1).
        var batches = (Environment.GetEnvironmentVariable("CONVTUNE_BATCHES") ?? "256,64").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture));
        // CONVTUNE_PRUNE (comma-separated ratios, default 0): the layers with every hidden width pruned as `gan bench --prune-ratio`
        // does (rounded down to a multiple of 8), to check the plan rule on widths the tuned table does not hold.
        var ratios = (Environment.GetEnvironmentVariable("CONVTUNE_PRUNE") ?? "0").Split(',').Select(r => float.Parse(r, CultureInfo.InvariantCulture)).ToArray();
        foreach (float ratio in ratios)
        foreach (int batch in batches)
        {
            int Hidden(int width) => width < 64 ? width : Math.Max(8, (width - (int)MathF.Round(width * ratio)) / 8 * 8);
            string tag = ratio > 0f ? string.Create(CultureInfo.InvariantCulture, $"-p{ratio}") : "";
            foreach (var l in Layers)
            {
                int cin = l.Name == "convT1" ? l.In : Hidden(l.In), cout = Hidden(l.Out);
                var conv = l.Transposed
                    ? new ConvTranspose2dShape(batch, cin, l.Size, l.Size, cout, l.K, l.K, l.S, l.S, l.P, l.P).AsConv
                    : new Conv2dShape(batch, cin, l.Size, l.Size, cout, l.K, l.K, l.S, l.S, l.P, l.P);
                var g = ConvLaunch.Geometry.Of(conv);
                if (ConvLaunch.PointFits(g))
                {
                    continue;   // conv4: the point kernels (ConvPoint) take every pass and no plan
                }
                // Passes of one iteration: D conv fwd, dgrad (not conv1... but the G step needs it), wgrad; G convT fwd (dgrad form),
                // input gradient (forward form; not convT1), wgrad.
                var modes = new List<int> { 0, 1, 2 };
                if (l.Name == "convT1")
                {
                    modes.Remove(0);
                }
                foreach (int mode in modes)
                {
                    string name = $"convtune-{l.Name}-b{batch}{tag}-m{mode}";
                    run(name, () => Sweep(name, mode, g, best));
                }
            }
        }
        Console.WriteLine();
        Console.WriteLine("# convtune best plans (ConvTuning table entries)");
        foreach (string line in best)
        {
            Console.WriteLine(line);
        }
    }

    private static List<ConvLaunch.Plan> Candidates(int mode, in ConvLaunch.Geometry g)
    {
        var (m, n, k, z) = ConvLaunch.GemmShape(mode, g, 1);
        int[] tiles = n > 64 ? (mode == 1 ? [0, 1, 2] : [0, 1]) : n > 32 ? [1, 2] : n > 16 ? [1, 2, 3] : [2, 3];
        if (mode == 1 && g.DgradIsGemm)
        {
            tiles = [0, 1];
        }
        if (n > 64 && ConvLaunch.WideFits(mode, g))
        {
            tiles = [.. tiles, ConvLaunch.WideTile];
        }
        var list = new List<ConvLaunch.Plan>();
        foreach (int t in tiles)
        {
            var tile = ConvLaunch.Tiles[t];
            int bm = tile.Wm * tile.Tm * 16, bn = tile.Wn * tile.Tn * 8;
            long blocks = (long)((n + bn - 1) / bn) * ((m + bm - 1) / bm) * z;
            if (mode == 1)
            {
                list.Add(new ConvLaunch.Plan(t, 1));
                // K splits of the mma.sync dgrad form (the wave rule's below half a wave), within two waves of blocks.
                for (int splits = 2; t < ConvLaunch.WideTile && !g.DgradIsGemm && splits <= 8 && blocks * splits <= 600 && k / splits >= 128; splits *= 2)
                {
                    list.Add(new ConvLaunch.Plan(t, splits));
                }
                continue;
            }
            for (int splits = 1; splits <= 512; splits *= 2)
            {
                if (splits > 1 && (blocks * splits > 2200 || k / splits < 64))
                {
                    break;
                }
                list.Add(new ConvLaunch.Plan(t, splits));
                if (splits == 2 && blocks * 3 <= 1100 && k / 3 >= 64)
                {
                    list.Add(new ConvLaunch.Plan(t, 3));
                }
            }
        }
        if (mode == 1 && !g.DgradIsGemm && n <= 16)
        {
            list.Add(new ConvLaunch.Plan(ConvLaunch.DirectTile, 1));
        }
        if (mode == 1 && ConvLaunch.NarrowFits(g))
        {
            for (int b = 0; b < 3; b++)
            {
                list.Add(new ConvLaunch.Plan(ConvLaunch.NarrowTile + b, 1));
            }
        }
        return list;
    }

    private BenchResult Sweep(string name, int mode, ConvLaunch.Geometry g, List<string> best)
    {
        long big = (long)g.Batch * g.C * g.H * g.W, small = (long)g.Batch * g.Oc * g.Oh * g.Ow, weight = (long)g.Oc * g.C * g.K * g.KW;
        var candidates = Candidates(mode, g);
        int maxSplits = candidates.Max(p => p.Splits);
        long outLength = mode == 0 ? small : mode == 1 ? big : weight;
        using var dBig = accelerator.Allocate<float>(randomArray((int)big));
        using var dSmall = accelerator.Allocate<float>(randomArray((int)small));
        using var dW = accelerator.Allocate<float>(randomArray((int)weight));
        using var output = accelerator.Allocate<float>((int)outLength);
        // Split planes of the forward, dgrad or wgrad form (the dgrad form's also hold the warpgroup kernel's packed weights).
        using var ws = accelerator.Allocate<float>((int)Math.Max(1, Math.Max(outLength * maxSplits, ConvImplicitGemm.PackedDgradWeightFloats(g.C, g.Oc, g.K, g.KW, g.S))));
        var stream = accelerator.DefaultStream;
        void Launch()
        {
            switch (mode)
            {
                case 0:
                    ConvLaunch.Forward(stream, MathMode.Tf32, g, dBig.ReadOnly, dW.ReadOnly, null, output.View, ws.View);
                    break;
                case 1:
                    ConvLaunch.Dgrad(stream, MathMode.Tf32, g, dSmall.ReadOnly, dW.ReadOnly, null, output.View, ws.View);
                    break;
                default:
                    ConvLaunch.Wgrad(stream, MathMode.Tf32, g, dSmall.ReadOnly, dBig.ReadOnly, output.View, ws.View);
                    break;
            }
        }
        var defaultPlan = ConvLaunch.HeuristicPlan(mode, g);
        ConvLaunch.Plan? forced = defaultPlan;
        ConvLaunch.PlanOverride = (md, geo) => md == mode && geo == g ? forced : null;
        try
        {
            stream.FillBytes(output.View, 0xFF);
            Launch();
            stream.Synchronize();
            var reference = output.ToArray();
            double defaultMs = timeMedian(Launch);
            var (bestPlan, bestMs) = (defaultPlan, defaultMs);
            var (m, n, k, _) = ConvLaunch.GemmShape(mode, g, 1);
            string shape = $"M{m} N{n} K{k}";
            Console.WriteLine($"  {name} {shape} default {Describe(defaultPlan)} {defaultMs:F4} ms");
            string failures = "";
            foreach (var plan in candidates)
            {
                forced = plan;
                stream.FillBytes(output.View, 0xFF);
                Launch();
                stream.Synchronize();
                var got = output.ToArray();
                double e = 0, r = 0;
                for (int i = 0; i < got.Length; i++)
                {
                    double d = got[i] - reference[i];
                    e += double.IsFinite(got[i]) ? d * d : double.PositiveInfinity;
                    r += (double)reference[i] * reference[i];
                }
                double rel = Math.Sqrt(e / Math.Max(r, 1e-300));
                double ms = timeMedian(Launch);
                bool ok = double.IsFinite(rel) && rel <= 2e-3;
                Console.WriteLine($"  {name} {Describe(plan),-14} {ms:F4} ms  diff {rel:E1}{(ok ? "" : "  FAILED")}");
                if (!ok)
                {
                    failures += $" {Describe(plan)}";
                }
                else if (ms < bestMs)
                {
                    (bestPlan, bestMs) = (plan, ms);
                }
            }
            best.Add(string.Create(CultureInfo.InvariantCulture,
                $"        Add(table, {mode}, {g.Batch}, {g.C}, {g.H}, {g.W}, {g.Oc}, {g.Oh}, {g.Ow}, {g.K}, {g.KW}, {g.S}, {g.Pad}, {bestPlan.Tile}, {bestPlan.Splits}); // {name}: {Describe(defaultPlan)} {defaultMs:F4} -> {Describe(bestPlan)} {bestMs:F4} ms"));
            return new BenchResult(name, $"{shape} best {Describe(bestPlan)}", bestMs, defaultMs / bestMs, "x", 0, 1,
                failures.Length == 0 ? "" : "candidates differ:" + failures);
        }
        finally
        {
            ConvLaunch.PlanOverride = null;
        }
    }

    private static string Describe(ConvLaunch.Plan p)
    {
        if (p.Tile == ConvLaunch.DirectTile)
        {
            return "direct";
        }
        if (p.Tile >= ConvLaunch.NarrowTile)
        {
            return $"narrow/nb{1 << (p.Tile - ConvLaunch.NarrowTile)}";
        }
        var t = ConvLaunch.Tiles[p.Tile];
        return $"{t.Wm * t.Tm * 16}x{t.Wn * t.Tn * 8}/s{p.Splits}";
    }
}
