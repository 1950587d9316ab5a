using System.Globalization;
using GanEngine.Datasets;
using GanEngine.Training.Config;
using GanEngine.Training.Evaluation;
using GanEngine.Training.IO;
using GanEngine.Training.Loop;
using NUnit.Framework;

namespace GanEngine.Tests.Training;

/// <summary>
/// The run directory end to end on the CPU accelerator with the built-in digits: files written, a run
/// interrupted (cancelled) and resumed equals an uninterrupted one row for row, config and data errors
/// are reported, and the evaluation writes its report.
/// </summary>
[TestFixture]
public sealed class TrainingRunTests
{
    private string _root = null!;

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("ganengine-run-").FullName;

    [TearDown]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    private string WriteConfig(string name, int steps, string extra = "")
    {
        string path = Path.Combine(_root, name + ".yaml");
        File.WriteAllText(path, $"""
            preset: digits
            device: cpu
            seed: 3
            model:
              resolution: 8
              latent: 8
              g_width: 8
              d_width: 8
            train:
              steps: {steps}
              batch: 16
              log_every: 2
              sample_every: 4
              checkpoint_every: 4
              grid_samples: 16
            {extra}
            """);
        return path;
    }

    [Test]
    public void A_run_writes_its_directory_and_a_resumed_run_equals_an_uninterrupted_one()
    {
        string config = WriteConfig("tiny", 8);
        string straight = Path.Combine(_root, "straight");
        var result = TrainingRun.Execute(new TrainOptions { ConfigPath = config, OutDir = straight }, TextWriter.Null, CancellationToken.None);
        Assert.That(result.Outcome, Is.EqualTo(RunOutcome.Completed));
        Assert.That(result.Step, Is.EqualTo(8));
        foreach (string file in new[] { "config.yaml", "metrics.csv", "losses.svg", "checkpoints/latest.ckpt", "samples/step-000004.png", "samples/step-000008.png", "samples/latest.png" })
        {
            Assert.That(File.Exists(Path.Combine(straight, file)), file);
        }
        var grid = GanEngine.Datasets.Png.PngDecoder.Decode(File.ReadAllBytes(Path.Combine(straight, "samples", "latest.png")));
        Assert.That(grid.Width, Is.GreaterThan(4 * 8 * 4), "a 4x4 grid of upscaled 8x8 images");
        Assert.That(ConfigLoader.Load(Path.Combine(straight, "config.yaml")).Train.Steps, Is.EqualTo(8), "the resolved config loads back");

        // The same run stopped after step 6 (as Ctrl-C does: between steps, with a checkpoint), then resumed.
        string split = Path.Combine(_root, "split");
        using var cancel = new CancellationTokenSource();
        var writer = new StepWatcher(() => cancel.Cancel(), "step       6/8");
        var first = TrainingRun.Execute(new TrainOptions { ConfigPath = config, OutDir = split }, writer, cancel.Token);
        Assert.That(first.Outcome, Is.EqualTo(RunOutcome.Interrupted));
        Assert.That(first.Step, Is.EqualTo(6), "the run stops after the step during which Ctrl-C came");
        var second = TrainingRun.Execute(new TrainOptions { ResumeDir = split }, TextWriter.Null, CancellationToken.None);
        Assert.That(second.Step, Is.EqualTo(8));

        var a = MetricsCsv.Read(Path.Combine(straight, MetricsCsv.FileName));
        var b = MetricsCsv.Read(Path.Combine(split, MetricsCsv.FileName));
        foreach (string column in new[] { "step", "loss_d", "loss_g", "d_real", "d_fake" })
        {
            Assert.That(b.Column(column), Is.EqualTo(a.Column(column)), $"{column} after resume");
        }
    }

    [Test]
    public void A_growing_and_pruning_run_logs_its_changes_and_resumes_across_them()
    {
        string config = Path.Combine(_root, "spgan.yaml");
        File.WriteAllText(config, """
            preset: digits-spgan
            device: cpu
            seed: 4
            model:
              resolution: 8
            train:
              steps: 14
              batch: 16
              log_every: 1
              sample_every: 7
              checkpoint_every: 100
              grid_samples: 16
            architecture:
              grow_every: 3
              prune_at: 11
            """);
        string straight = Path.Combine(_root, "straight");
        TrainingRun.Execute(new TrainOptions { ConfigPath = config, OutDir = straight }, TextWriter.Null, CancellationToken.None);
        var rows = File.ReadAllLines(Path.Combine(straight, "architecture.csv"));
        Assert.That(rows, Has.Length.EqualTo(1 + 8), "three growth events and one pruning, each in G and D");
        Assert.That(rows[1], Does.StartWith("3,G,conv0,grow (net2wider),4,8,"));
        Assert.That(rows[^1], Does.StartWith("11,D,conv0,prune (L1),32,28,"), "29 rounded down to a multiple of 4 (32 / 8)");
        Assert.That(File.Exists(Path.Combine(straight, "architecture.svg")));
        var metrics = MetricsCsv.Read(Path.Combine(straight, MetricsCsv.FileName));
        Assert.That(metrics.Column("g_params")[^1], Is.LessThan(metrics.Column("g_params")[9]), "pruning shrank G");

        // Interrupted after step 10 (grown, not yet pruned), resumed: same rows, same architecture log.
        string split = Path.Combine(_root, "split");
        using var cancel = new CancellationTokenSource();
        TrainingRun.Execute(new TrainOptions { ConfigPath = config, OutDir = split }, new StepWatcher(() => cancel.Cancel(), "step      10/14"), cancel.Token);
        TrainingRun.Execute(new TrainOptions { ResumeDir = split }, TextWriter.Null, CancellationToken.None);
        var resumed = MetricsCsv.Read(Path.Combine(split, MetricsCsv.FileName));
        foreach (string column in new[] { "step", "loss_d", "loss_g", "g_params", "d_params" })
        {
            Assert.That(resumed.Column(column), Is.EqualTo(metrics.Column(column)), column);
        }
        Assert.That(File.ReadAllLines(Path.Combine(split, "architecture.csv")), Is.EqualTo(rows));
    }

    [Test]
    public void Bad_configs_and_resume_directories_are_reported_clearly()
    {
        string bad = WriteConfig("bad", 4, "loss:\n  kindd: bce");
        var e = Assert.Throws<ConfigException>(() => TrainingRun.Execute(new TrainOptions { ConfigPath = bad, OutDir = Path.Combine(_root, "x") }, TextWriter.Null, CancellationToken.None));
        Assert.That(e!.Message, Does.Contain("kindd").And.Contain("bad.yaml"));
        var r = Assert.Throws<ConfigException>(() => TrainingRun.Execute(new TrainOptions { ResumeDir = _root }, TextWriter.Null, CancellationToken.None));
        Assert.That(r!.Message, Does.Contain("config.yaml"));
        string missing = WriteConfig("missing", 4, "data:\n  dataset: mnist\n  path: " + Path.Combine(_root, "nowhere"));
        var d = Assert.Throws<DatasetException>(() => TrainingRun.Execute(new TrainOptions { ConfigPath = missing, OutDir = Path.Combine(_root, "y") }, TextWriter.Null, CancellationToken.None));
        Assert.That(d!.Message, Does.Contain("nowhere"));
    }

    [Test]
    public void Evaluation_trains_the_digits_classifier_and_scores_real_and_generated_images()
    {
        Environment.SetEnvironmentVariable("GANENGINE_CACHE", Path.Combine(_root, "cache"));
        try
        {
            string config = WriteConfig("eval", 2);
            string dir = Path.Combine(_root, "run");
            TrainingRun.Execute(new TrainOptions { ConfigPath = config, OutDir = dir }, TextWriter.Null, CancellationToken.None);
            var report = RunEvaluation.EvaluateRun(dir, new EvaluationOptions { Samples = 200, ClassifierEpochs = 8 }, TextWriter.Null);
            Assert.That(report.ClassifierTestAccuracy, Is.GreaterThan(0.85), "the classifier learns the digits");
            var real = report.Rows[0];
            Assert.That(real.ClassesCovered, Is.EqualTo(10));
            Assert.That(real.InceptionScore.Mean, Is.GreaterThan(4.0), "real digits are confidently classified and spread over the classes (uniform guessing scores 1)");
            var generated = report.Rows[^1];
            Assert.That(generated.Fid, Is.GreaterThan(real.Fid), "an untrained generator is farther from the test split than real images");
            Assert.That(File.ReadAllText(Path.Combine(dir, "eval.md")), Does.Contain("Protocol:"));
            Assert.That(File.Exists(Path.Combine(dir, "eval.json")));
            // The second evaluation reuses the cached classifier.
            var again = RunEvaluation.EvaluateRun(dir, new EvaluationOptions { Samples = 200, ClassifierEpochs = 8 }, TextWriter.Null);
            Assert.That(again.ClassifierTestAccuracy, Is.EqualTo(report.ClassifierTestAccuracy));
            Assert.That(again.Rows[^1].Fid, Is.EqualTo(generated.Fid).Within(1e-9));
        }
        finally
        {
            Environment.SetEnvironmentVariable("GANENGINE_CACHE", null);
        }
    }

    /// <summary>A console that calls back when a progress line containing <paramref name="marker"/> is written.</summary>
    private sealed class StepWatcher(Action callback, string marker) : StringWriter(CultureInfo.InvariantCulture)
    {
        public override void WriteLine(string? value)
        {
            if (value is not null && value.Contains(marker, StringComparison.Ordinal))
            {
                callback();
            }
            base.WriteLine(value);
        }
    }
}
