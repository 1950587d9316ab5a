using GanEngine.Ops;
using NUnit.Framework;

namespace GanEngine.Tests.Ops.Conv;

/// <summary>
/// The plan rule for shapes without a tuned entry (<see cref="ConvSettings.WavePlans"/>): host-only, no device. It must agree
/// with what the H200 sweep chose where the sweep ran, so that a pruned or grown layer gets the plan its full-width
/// neighbour was measured to want.
/// </summary>
public sealed class ConvPlanRuleTests
{
    private bool _saved;

    [SetUp]
    public void UseWaveRule()
    {
        _saved = ConvSettings.WavePlans;
        ConvSettings.WavePlans = true;
    }

    [TearDown]
    public void Restore() => ConvSettings.WavePlans = _saved;

    [Test]
    public void WaveRule_ReproducesEveryTunedForwardAndDgradEntry()
    {
        int checkedEntries = 0;
        foreach (var (key, tuned) in ConvTuning.Entries)
        {
            if (key.Mode == 2)
            {
                continue;   // wgrad keeps the earlier heuristic: its tuned entries are split counts of narrow shapes
            }
            var g = new ConvLaunch.Geometry(key.Batch, key.C, key.H, key.W, key.Oc, key.Oh, key.Ow, key.K, key.KW, key.S, key.Pad);
            Assert.That(ConvLaunch.HeuristicPlan(key.Mode, g), Is.EqualTo(tuned), $"rule vs tuned entry {key}");
            checkedEntries++;
        }
        Assert.That(checkedEntries, Is.EqualTo(7), "forward and dgrad entries in the tuned table");
    }

    [TestCase(256, 128)]
    [TestCase(256, 112)]
    [TestCase(64, 128)]
    [TestCase(64, 96)]
    public void WaveRule_SplitsTheNarrowWeightGradientIntoSmallChunks(int batch, int width)
    {
        // DCGAN-32's conv1 (3 -> width channels, 32x32 -> 16x16): a one-tile gradient over K = batch x 256 pixels; the
        // sweeps measured 256 splits best at full width (tuned entries) and at pruned widths (session 12, run 1).
        var g = new ConvLaunch.Geometry(batch, 3, 32, 32, width, 16, 16, 4, 4, 2, 1);
        Assert.That(ConvLaunch.WgradSplit(g).Splits, Is.EqualTo(256));
    }

    [TestCase(0.1f)]
    [TestCase(0.25f)]
    public void WaveRule_GivesPrunedBatch256LayersTheWideTile(float ratio)
    {
        // DCGAN-32's D conv2 / conv3 and G's convT2 / convT3 (dgrad form) at batch 256 with their widths pruned as
        // `gan bench --prune-ratio` does: the full-width layers run the 256x128 (warpgroup) tile, so must these.
        static int Prune(int width, float r) => (width - (int)MathF.Round(width * r)) / 8 * 8;
        int w128 = Prune(128, ratio), w256 = Prune(256, ratio), w512 = Prune(512, ratio);
        var conv2 = new ConvLaunch.Geometry(256, w128, 16, 16, w256, 8, 8, 4, 4, 2, 1);
        var conv3 = new ConvLaunch.Geometry(256, w256, 8, 8, w512, 4, 4, 4, 4, 2, 1);
        foreach (var g in new[] { conv2, conv3 })
        {
            for (int mode = 0; mode <= 1; mode++)
            {
                Assert.That(ConvLaunch.HeuristicPlan(mode, g).Tile, Is.EqualTo(ConvLaunch.WideTile), $"mode {mode} {g}");
            }
        }
        // conv3's forward fills the wave by splitting K, but never past it: (456 or 384 channels) 4 or 3 x 16 blocks, x 2.
        Assert.That(ConvLaunch.HeuristicPlan(0, conv3).Splits, Is.EqualTo(2), "conv3's forward splits K within one wave");
    }

    [TestCase(0f)]
    [TestCase(0.1f)]
    [TestCase(0.25f)]
    [TestCase(0.5f)]
    public void WaveRule_SplitsTheSmallDgradFormOver128x128Tiles(float ratio)
    {
        // Batch-64 conv3 / convT2 dgrad form (M 1024, four phases): too few blocks for the wide tile; the H200 sweep (session 12,
        // run 7) measured 128x128 with 4 K splits best at all four widths.
        static int Prune(int width, float r) => (width - (int)MathF.Round(width * r)) / 8 * 8;
        var g = new ConvLaunch.Geometry(64, Prune(256, ratio), 8, 8, Prune(512, ratio), 4, 4, 4, 4, 2, 1);
        Assert.That(ConvLaunch.HeuristicPlan(1, g), Is.EqualTo(new ConvLaunch.Plan(0, 4)));
    }
}
