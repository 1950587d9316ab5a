using GanEngine.Training.Config;
using GanEngine.Training.Loop;
using GanEngine.Training.Models;

namespace GanEngine.Training.Architecture;

/// <summary>
/// The architecture stages of a run, from <see cref="ArchitectureConfig"/>: the seed widths (applied when
/// the trainer is built), growth every <c>grow_every</c> steps (<c>grow_times</c> times, each hidden width
/// times <c>grow_factor</c>, capped at the model's full width), pruning at <c>prune_at</c>. Events are a
/// function of the step alone, so a resumed run replays exactly the changes the uninterrupted run makes.
/// </summary>
public sealed class ArchitectureSchedule(TrainConfig config)
{
    private readonly ArchitectureConfig _a = (config ?? throw new ArgumentNullException(nameof(config))).Architecture;

    /// <summary>Whether this run changes its architecture at all.</summary>
    public bool IsActive => _a.SeedFactor < 1f || (_a.GrowEvery > 0 && _a.GrowTimes > 0) || _a.PruneAt > 0;

    /// <summary>The stage name at <paramref name="step"/> (seed, growing, grown, pruned; dense when inactive).</summary>
    public string Stage(long step)
    {
        if (!IsActive)
        {
            return "dense";
        }
        if (_a.PruneAt > 0 && step >= _a.PruneAt)
        {
            return "pruned";
        }
        long lastGrowth = (long)_a.GrowEvery * _a.GrowTimes;
        if (_a.GrowEvery > 0 && _a.GrowTimes > 0)
        {
            return step < _a.GrowEvery ? "seed" : step < lastGrowth ? "growing" : "grown";
        }
        return "seed";
    }

    /// <summary>The model's full hidden widths per network (growth never exceeds them).</summary>
    public static int[] FullWidths(ModelConfig model, NetworkSide side)
    {
        ArgumentNullException.ThrowIfNull(model);
        int stages = DcganLayout.Stages(model.Resolution);
        return side == NetworkSide.Generator
            ? [.. Enumerable.Range(0, stages).Select(i => DcganLayout.Width(model.GWidth, stages, i))]
            : [.. Enumerable.Range(0, stages).Select(j => model.DWidth << j)];
    }

    /// <summary>Applies the changes due before the trainer's next step; returns them (empty most steps).</summary>
    public IReadOnlyList<ArchitectureChange> Apply(GanTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        long step = trainer.Step;
        var changes = new List<ArchitectureChange>();
        if (step == 0)
        {
            return changes;
        }
        if (_a.GrowEvery > 0 && step % _a.GrowEvery == 0 && step / _a.GrowEvery <= _a.GrowTimes)
        {
            var options = new GrowthOptions
            {
                Rule = _a.GrowRule == "replicate" ? GrowthRule.Replicate : GrowthRule.FunctionPreserving,
                Selection = _a.GrowSelect == "l1" ? FilterSelection.HighestL1 : FilterSelection.All,
                Noise = _a.GrowNoise,
                ResetOptimizerState = _a.OptimizerState == "reset",
            };
            foreach (var side in Sides())
            {
                var full = FullWidths(trainer.Config.Model, side);
                var widths = ArchitectureEditor.Widths(trainer, side);
                for (int i = 0; i < widths.Length; i++)
                {
                    int target = Math.Min(full[i], (int)MathF.Round(widths[i] * _a.GrowFactor));
                    if (target > widths[i])
                    {
                        changes.Add(ArchitectureEditor.Grow(trainer, side, i, target, options));
                    }
                }
            }
        }
        if (_a.PruneAt > 0 && step == _a.PruneAt && (_a.PruneRatio > 0f || _a.PruneThreshold > 0f || _a.PruneTargetParamsG > 0 || _a.PruneTargetParamsD > 0))
        {
            var options = new PruneOptions
            {
                ScaleByBatchNormGamma = _a.PruneScore == "l1-gamma",
                MinWidth = _a.MinWidth,
                ResetOptimizerState = _a.OptimizerState == "reset",
            };
            foreach (var side in Sides())
            {
                var keep = _a.PruneScope == "global" ? GlobalKeep(trainer, side, options) : LayerKeep(trainer, side);
                for (int i = 0; i < keep.Length; i++)
                {
                    if (keep[i] < ArchitectureEditor.Widths(trainer, side)[i])
                    {
                        changes.Add(ArchitectureEditor.Prune(trainer, side, i, keep[i], options));
                    }
                }
            }
        }
        if (trainer.Loss is IAdaptiveGanLoss adaptive)
        {
            foreach (var c in changes)
            {
                adaptive.OnArchitectureChange(step, c.Network == "G");
            }
        }
        return changes;
    }

    private int[] LayerKeep(GanTrainer trainer, NetworkSide side) =>
        [.. ArchitectureEditor.Widths(trainer, side).Select(w => Keep(w, w - (int)MathF.Round(w * _a.PruneRatio)))];

    // The kept width: rounded down to prune_multiple (at most width / 8, so narrow layers are not over-pruned)
    // when that leaves at least one multiple; never below min_width.
    private int Keep(int width, int keep)
    {
        int m = Math.Max(1, Math.Min(_a.PruneMultiple, width / 8));
        if (keep >= m && keep < width)
        {
            keep = keep / m * m;
        }
        return Math.Max(Math.Min(_a.MinWidth, width), keep);
    }

    // One ranking over the network: filters scored by their mean |w| (L1 over the filter's size, so that
    // layers of different fan-in compare), times |gamma| with l1-gamma. What goes: every filter under
    // prune_threshold when it is set; else the lowest ones until the network's parameters reach its
    // prune_target_params_g / _d when set (counted exactly from the widths); else the lowest prune_ratio.
    private int[] GlobalKeep(GanTrainer trainer, NetworkSide side, PruneOptions options)
    {
        var links = ArchitectureEditor.Network(trainer, side).ChannelLinks;
        var ranked = new List<(int Link, double Score)>();
        for (int i = 0; i < links.Count; i++)
        {
            var scores = FilterScores.L1(links[i].Producer, options.ScaleByBatchNormGamma ? links[i].Norm : null);
            double perFilter = links[i].Producer.Weight.Length / (double)links[i].Width;
            ranked.AddRange(scores.Select(s => (i, s / perFilter)));
        }
        ranked.Sort((a, b) => a.Score.CompareTo(b.Score));
        var widths = links.Select(l => l.Width).ToArray();
        long target = side == NetworkSide.Generator ? _a.PruneTargetParamsG : _a.PruneTargetParamsD;
        var module = side == NetworkSide.Generator ? (Modules.Module)trainer.G : trainer.D;
        if (_a.PruneThreshold > 0f)
        {
            foreach (var (link, score) in ranked.Where(r => r.Score < _a.PruneThreshold))
            {
                widths[link] = Math.Max(widths[link] - 1, Math.Min(_a.MinWidth, links[link].Width));
            }
            return widths;
        }
        if (target > 0)
        {
            var count = new ParameterCount(links, module.ParameterCount);
            foreach (var (link, _) in ranked)
            {
                if (count.Of(widths) <= target)
                {
                    break;
                }
                if (widths[link] > Math.Min(_a.MinWidth, links[link].Width))
                {
                    widths[link]--;
                }
            }
            return widths;   // exact counts: no rounding to prune_multiple
        }
        int remove = (int)MathF.Round(ranked.Count * _a.PruneRatio);
        var removed = ranked.Take(remove).GroupBy(x => x.Link).ToDictionary(g => g.Key, g => g.Count());
        return [.. links.Select((l, i) => Keep(l.Width, l.Width - removed.GetValueOrDefault(i)))];
    }

    /// <summary>A network's parameter count as a function of its hidden widths: the weights, biases and
    /// BatchNorm affine pairs over the links change with them, everything else is fixed.</summary>
    private sealed class ParameterCount
    {
        private readonly IReadOnlyList<ChannelLink> _links;
        private readonly long _fixed;

        public ParameterCount(IReadOnlyList<ChannelLink> links, long total)
        {
            _links = links;
            _fixed = total - Variable([.. links.Select(l => l.Width)]);
        }

        public long Of(int[] widths) => _fixed + Variable(widths);

        // Layers 0..L: link i's producer is layer i, its consumer layer i + 1.
        private long Variable(int[] widths)
        {
            long sum = 0;
            for (int j = 0; j <= _links.Count; j++)
            {
                var layer = j < _links.Count ? _links[j].Producer : _links[^1].Consumer;
                int inWidth = j == 0 ? layer.InputWidth : widths[j - 1];
                int outWidth = j < _links.Count ? widths[j] : layer.OutputWidth;
                long perPair = layer.Weight.Length / ((long)layer.InputWidth * layer.OutputWidth);
                sum += perPair * inWidth * outWidth + (layer.Bias is null ? 0 : outWidth);
                if (j < _links.Count && _links[j].Norm is not null)
                {
                    sum += 2L * widths[j];
                }
            }
            return sum;
        }
    }

    private IEnumerable<NetworkSide> Sides()
    {
        if (_a.Networks != "d")
        {
            yield return NetworkSide.Generator;
        }
        if (_a.Networks != "g")
        {
            yield return NetworkSide.Discriminator;
        }
    }
}
