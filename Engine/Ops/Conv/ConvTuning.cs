namespace GanEngine.Ops;

/// <summary>
/// Tuned implicit-GEMM launch plans (tile and split-K) for known layer shapes, measured on an H200 by the sweep in
/// tools/Bench (<c>--only convtune</c>; see docs/benchmarks-notes-conv.md, "DCGAN-32 iteration at batch 256"). Shapes not in the
/// table use <see cref="ConvLaunch.HeuristicPlan"/>. The table is keyed by the shape only, so workspace sizes and summation
/// order stay a function of the shape.
/// </summary>
internal static class ConvTuning
{
    /// <summary>(kernel mode, batch, c, h, w, oc, oh, ow, kh, kw, stride, pad).</summary>
    internal readonly record struct Key(int Mode, int Batch, int C, int H, int W, int Oc, int Oh, int Ow, int K, int KW, int S, int Pad);

    private static readonly Dictionary<Key, ConvLaunch.Plan> Table = Build();

    internal static ConvLaunch.Plan? Lookup(int kernelMode, in ConvLaunch.Geometry g) =>
        Table.TryGetValue(new Key(kernelMode, g.Batch, g.C, g.H, g.W, g.Oc, g.Oh, g.Ow, g.K, g.KW, g.S, g.Pad), out var plan) ? plan : null;

    /// <summary>Every tuned entry (for the test that the plan rule of <see cref="ConvSettings.WavePlans"/> reproduces them).</summary>
    internal static IEnumerable<KeyValuePair<Key, ConvLaunch.Plan>> Entries => Table;

    private static Dictionary<Key, ConvLaunch.Plan> Build()
    {
        var table = new Dictionary<Key, ConvLaunch.Plan>();
        // (mode, batch, c, h, w, oc, oh, ow, kh, kw, s, pad, tile, splits) in the conv view (a transposed convolution's forward is
        // mode 1 and its input gradient mode 0 of the convolution with the roles swapped). Run 1 of 2026-11-21 (H200, sweep medians
        // of 20 launches; docs/results/2026-11-21-h200-convtune/convtune.log); only entries that beat the heuristic by over 5 %.
        // Tiles: 0 = 128x128, 1 = 128x64, 2 = 128x32, 3 = 128x16, 4 = 256x128 (8 warps; ConvLaunch.WideFits shapes only).
        Add(table, 2, 256, 3, 32, 32, 128, 16, 16, 4, 4, 2, 1, 1, 256);  // conv1 / convT4 wgrad: 128x64/s128 0.0511 -> s256 0.0394 ms
        // Run 1 of branch convk (2026-11-21, docs/results/2026-11-21-h200-convk/convtune-run1.log, confirmed in run 3): the 256x128 tile (4 = ConvLaunch.WideTile).
        Add(table, 0, 256, 256, 8, 8, 512, 4, 4, 4, 4, 2, 1, 4, 2);      // conv3 fwd / convT2 input grad: 128x128/s2 0.1927 -> 256x128/s2 0.1837 ms
        Add(table, 1, 256, 256, 8, 8, 512, 4, 4, 4, 4, 2, 1, 4, 1);      // conv3 input grad / convT2 fwd: 128x128 0.1881 -> 256x128 0.1600 ms
        Add(table, 0, 256, 128, 16, 16, 256, 8, 8, 4, 4, 2, 1, 4, 1);    // conv2 fwd / convT3 input grad: 128x128/s1 0.1855 -> 256x128/s1 0.1712 ms
        Add(table, 1, 256, 128, 16, 16, 256, 8, 8, 4, 4, 2, 1, 4, 1);    // conv2 input grad / convT3 fwd: 128x128 0.2068 -> 256x128 0.1940 ms
        // Wgrad (MODE 2) with the wide tile loses (run 3: conv2 256x128/s8 0.376 ms vs 128x128/s8 0.182; conv3 256x128/s2 0.441 vs
        // 0.159): not in the table.
        // conv4 (512 -> 1 channel, 4x4 -> 1x1) has no entries: it runs the point kernels (ConvLaunch.PointFits), which take no plan.
        Add(table, 2, 256, 512, 4, 4, 128, 1, 1, 4, 4, 1, 0, 1, 1);      // convT1 wgrad: 128x128/s1 0.0245 -> 128x64/s1 0.0192 ms
        Add(table, 2, 64, 3, 32, 32, 128, 16, 16, 4, 4, 2, 1, 1, 256);   // conv1 / convT4 wgrad: 128x64/s32 0.0488 -> s256 0.0209 ms
        // Session 12 sweep (docs/results/2026-11-21-h200-session12/run1/convtune.log): at batch 64 the warpgroup kernel (since session
        // 10) beats the 128x128 tile these entries held before (0.0615 / 0.0615 ms).
        Add(table, 0, 64, 128, 16, 16, 256, 8, 8, 4, 4, 2, 1, 4, 4);     // conv2 fwd / convT3 input grad: 128x128/s4 0.0615 -> 256x128/s4 0.0454 ms
        Add(table, 0, 64, 256, 8, 8, 512, 4, 4, 4, 4, 2, 1, 4, 8);       // conv3 fwd / convT2 input grad: 128x128/s8 0.0618 -> 256x128/s8 0.0450 ms
        Add(table, 1, 64, 128, 16, 16, 256, 8, 8, 4, 4, 2, 1, 4, 1);     // conv2 input grad / convT3 fwd: 128x64 0.0617 -> 256x128 0.0568 ms
        Add(table, 2, 64, 512, 4, 4, 128, 1, 1, 4, 4, 1, 0, 1, 1);       // convT1 wgrad: 128x128/s1 0.0135 -> 128x64/s1 0.0116 ms
        return table;
    }

    private static void Add(Dictionary<Key, ConvLaunch.Plan> table, int mode, int batch, int c, int h, int w, int oc, int oh, int ow,
        int kh, int kw, int s, int pad, int tile, int splits) =>
        table[new Key(mode, batch, c, h, w, oc, oh, ow, kh, kw, s, pad)] = new ConvLaunch.Plan(tile, splits);
}
