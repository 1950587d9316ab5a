using System.Globalization;
using System.Text;
using System.Text.Json;
using GanEngine.Accelerators;
using GanEngine.Datasets;
using GanEngine.Tensors;
using GanEngine.Training.Config;
using GanEngine.Training.IO;
using GanEngine.Training.Loop;
using GanEngine.Training.Metrics;

namespace GanEngine.Training.Evaluation;

/// <summary>What <c>gan eval</c> was asked to do.</summary>
public sealed record EvaluationOptions
{
    public string? Device { get; init; }

    /// <summary>Generated images per generator.</summary>
    public int Samples { get; init; } = 2000;

    /// <summary>Classifier training epochs (the feature network; cached).</summary>
    public int ClassifierEpochs { get; init; } = 10;

    /// <summary>Seed of the evaluation latents and of the classifier.</summary>
    public ulong Seed { get; init; } = 7;
}

/// <summary>Quality of one set of images against the held-out real images.</summary>
public sealed record QualityReport(string Source, int Count, double Fid, MetricEstimate Kid, MetricEstimate InceptionScore,
    double[] ClassShare, double[] ClassConfidence, double MeanConfidence, int ClassesCovered);

/// <summary>Everything <c>gan eval</c> reports, with its protocol.</summary>
public sealed record EvaluationReport(string Protocol, double ClassifierTestAccuracy, IReadOnlyList<QualityReport> Rows, long Step);

/// <summary>
/// Evaluates a run: FID and KID on the classifier's features against the data set's held-out test split,
/// the Inception Score from its class probabilities, and the class distribution and confidence of
/// generated images; the real train split is scored the same way as the reference a perfect generator
/// would reach with these sample counts. Writes <c>eval.md</c> and <c>eval.json</c> into the run directory.
/// </summary>
public static class RunEvaluation
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static EvaluationReport EvaluateRun(string runDir, EvaluationOptions options, TextWriter console)
    {
        ArgumentNullException.ThrowIfNull(runDir);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        var config = ConfigLoader.Load(Path.Combine(runDir, "config.yaml"));
        if (options.Device is not null)
        {
            config.Device = options.Device;
        }
        using var accelerator = AcceleratorSelector.Create(config.Device);
        using var trainer = new GanTrainer(config, accelerator);
        var checkpointPath = Path.Combine(runDir, "checkpoints", "latest.ckpt");
        TrainerCheckpoint.Restore(trainer, CheckpointFile.Read(checkpointPath), checkpointPath);
        var report = Evaluate(trainer, config, options, console);
        Write(runDir, report);
        console.Write(Markdown(report));
        return report;
    }

    /// <summary>Scores the trainer's generators (EMA first when present) against the test split.</summary>
    public static EvaluationReport Evaluate(GanTrainer trainer, TrainConfig config, EvaluationOptions options, TextWriter console)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        var accelerator = trainer.G.Parameters()[0].Accelerator;
        var d = config.Data;
        var m = config.Model;
        var classifier = ClassifierTraining.GetOrTrain(accelerator, d.Dataset, d.Path, m.Resolution, m.Channels,
            options.ClassifierEpochs, options.Seed, console);
        using var model = classifier.Model;
        var test = DatasetFactory.Open(new DatasetSpec(d.Dataset, d.Path, DatasetSplit.Test, m.Resolution, m.Channels));
        var train = DatasetFactory.Open(new DatasetSpec(d.Dataset, d.Path, DatasetSplit.Train, m.Resolution, m.Channels));
        var (testFeatures, _) = FeatureExtraction.Run(model, FeatureExtraction.Images(test), test.Count);
        var testStats = FeatureStatistics.Compute(testFeatures, test.Count, model.FeatureCount);

        var rows = new List<QualityReport>();
        int realCount = Math.Min(train.Count, options.Samples);
        var (realFeatures, realProbabilities) = FeatureExtraction.Run(model, FeatureExtraction.Images(train), realCount);
        rows.Add(Score("real (train split)", realFeatures, realProbabilities, realCount, model, testFeatures, test.Count, testStats, options.Seed));
        var generators = trainer.Ema is null ? new[] { false } : new[] { true, false };
        foreach (bool ema in generators)
        {
            var images = Generate(trainer, options.Samples, options.Seed, ema);
            var (f, p) = FeatureExtraction.Run(model, images, options.Samples);
            rows.Add(Score(ema ? "generator (EMA)" : "generator", f, p, options.Samples, model, testFeatures, test.Count, testStats, options.Seed));
        }
        string protocol = string.Create(CultureInfo.InvariantCulture,
            $"features: {classifier.Description} (test accuracy {classifier.TestAccuracy:P2}); reference: {test.Name}, {test.Count} images; " +
            $"generated: {options.Samples} images per generator from N(0, I) latents (seed {options.Seed}), eval-mode BatchNorm; " +
            $"real row: the first {realCount} images of {train.Name}; FID on {model.FeatureCount}-d features (unbiased covariance); " +
            $"KID: cubic polynomial kernel, 100 subsets of min(1000, n) images; IS: 10 splits of the classifier's softmax.");
        return new EvaluationReport(protocol, classifier.TestAccuracy, rows, trainer.Step);
    }

    /// <summary>A batch source of <paramref name="count"/> generated images (host), drawn in chunks.</summary>
    public static Func<int, int, float[]> Generate(GanTrainer trainer, int count, ulong seed, bool ema)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        using var scope = new TensorScope();
        var z = trainer.FixedLatents(count, seed);
        int size = trainer.G.Channels * trainer.G.Resolution * trainer.G.Resolution;
        var images = new float[(long)count * size];
        for (int start = 0; start < count; start += FeatureExtraction.Batch)
        {
            int n = Math.Min(FeatureExtraction.Batch, count - start);
            using var inner = new TensorScope();
            var x = trainer.Generate(z.Slice(0, start, n).Contiguous(), ema);
            x.ToHost().CopyTo(images, (long)start * size);
        }
        return (start, n) => images[(start * size)..((start + n) * size)];
    }

    private static QualityReport Score(string source, float[] features, float[] probabilities, int count, ImageClassifier model,
        float[] testFeatures, int testCount, FeatureStatistics testStats, ulong seed)
    {
        var stats = FeatureStatistics.Compute(features, count, model.FeatureCount);
        double fid = FrechetDistance.Compute(stats, testStats);
        var kid = KernelInceptionDistance.Compute(features, count, testFeatures, testCount, model.FeatureCount, 100, 1000, seed);
        var inception = InceptionScore.Compute(probabilities, count, model.Classes, 10);
        var share = new double[model.Classes];
        var confidence = new double[model.Classes];
        double meanConfidence = 0;
        for (int i = 0; i < count; i++)
        {
            var p = probabilities.AsSpan(i * model.Classes, model.Classes);
            int c = FeatureExtraction.ArgMax(p);
            share[c]++;
            confidence[c] += p[c];
            meanConfidence += p[c];
        }
        for (int c = 0; c < model.Classes; c++)
        {
            confidence[c] = share[c] > 0 ? confidence[c] / share[c] : double.NaN;
            share[c] /= count;
        }
        int covered = share.Count(s => s > 0);
        return new QualityReport(source, count, fid, kid, inception, share, confidence, meanConfidence / count, covered);
    }

    /// <summary>The report as Markdown (also printed).</summary>
    public static string Markdown(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"## Evaluation at step {report.Step}");
        sb.AppendLine();
        sb.AppendLine(inv, $"Protocol: {report.Protocol}");
        sb.AppendLine();
        sb.AppendLine("| images | n | FID | KID x 1000 | IS | classes covered | mean confidence |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in report.Rows)
        {
            sb.AppendLine(inv, $"| {r.Source} | {r.Count} | {r.Fid:F3} | {r.Kid.Mean * 1000:F2} ± {r.Kid.Std * 1000:F2} | {r.InceptionScore.Mean:F2} ± {r.InceptionScore.Std:F2} | {r.ClassesCovered}/{r.ClassShare.Length} | {r.MeanConfidence:P1} |");
        }
        sb.AppendLine();
        sb.AppendLine("Per class (share of images classified as the class / mean confidence of those):");
        sb.AppendLine();
        int classes = report.Rows[0].ClassShare.Length;
        sb.AppendLine("| images | " + string.Join(" | ", Enumerable.Range(0, classes)) + " |");
        sb.AppendLine("| --- |" + string.Concat(Enumerable.Repeat(" ---: |", classes)));
        foreach (var r in report.Rows)
        {
            var cells = Enumerable.Range(0, classes).Select(c => r.ClassShare[c].ToString("P1", inv) + " / " +
                (double.IsNaN(r.ClassConfidence[c]) ? "-" : r.ClassConfidence[c].ToString("P0", inv)));
            sb.AppendLine("| " + r.Source + " | " + string.Join(" | ", cells) + " |");
        }
        return sb.ToString();
    }

    private static void Write(string runDir, EvaluationReport report)
    {
        AtomicFile.WriteAllText(Path.Combine(runDir, "eval.md"), Markdown(report));
        var json = JsonSerializer.Serialize(new
        {
            report.Step,
            report.Protocol,
            report.ClassifierTestAccuracy,
            rows = report.Rows.Select(r => new
            {
                r.Source,
                r.Count,
                r.Fid,
                kid_mean = r.Kid.Mean,
                kid_std = r.Kid.Std,
                is_mean = r.InceptionScore.Mean,
                is_std = r.InceptionScore.Std,
                r.ClassesCovered,
                r.MeanConfidence,
                class_share = r.ClassShare,
                class_confidence = r.ClassConfidence.Select(c => double.IsNaN(c) ? (double?)null : c),
            }),
        }, JsonOptions);
        AtomicFile.WriteAllText(Path.Combine(runDir, "eval.json"), json);
    }
}
