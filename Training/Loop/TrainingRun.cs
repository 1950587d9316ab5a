using System.Diagnostics;
using System.Globalization;
using GanEngine.Accelerators;
using GanEngine.Datasets;
using GanEngine.Tensors;
using GanEngine.Training.Architecture;
using GanEngine.Training.Config;
using GanEngine.Training.IO;

namespace GanEngine.Training.Loop;

/// <summary>What <c>gan train</c> was asked to do.</summary>
public sealed record TrainOptions
{
    public string? ConfigPath { get; init; }
    public string? Preset { get; init; }
    public int? Steps { get; init; }
    public string? OutDir { get; init; }
    public string? Device { get; init; }
    public ulong? Seed { get; init; }
    public string? ResumeDir { get; init; }

    /// <summary>Evaluate the final generator when the run ends (digits: classifier report, FID, KID).</summary>
    public bool Evaluate { get; init; } = true;
}

/// <summary>How a run ended.</summary>
public enum RunOutcome
{
    Completed,
    Interrupted,
}

/// <summary>The result of <see cref="TrainingRun.Execute"/>.</summary>
public sealed record RunResult(RunOutcome Outcome, string Directory, long Step, TimeSpan Elapsed, double MeanStepMilliseconds);

/// <summary>
/// A training run and its directory: <c>config.yaml</c> (the resolved config), <c>metrics.csv</c>,
/// <c>losses.svg</c>, <c>samples/step-NNNNNN.png</c> (fixed latent batch; EMA generator when enabled),
/// <c>checkpoints/latest.ckpt</c> (every N steps, at the end, and on Ctrl-C). A run resumed from its directory
/// continues the same data order, latents and optimizer state, so its losses equal an uninterrupted run's
/// on the same accelerator.
/// </summary>
public sealed class TrainingRun
{
    /// <summary>Seed of the fixed latent batch behind every sample grid.</summary>
    public const ulong GridSeed = 0x6772_6964;

    private static readonly string[] Columns = ["step", "loss_d", "loss_g", "d_real", "d_fake", "step_ms", "images_per_s", "elapsed_s",
        "g_params", "d_params", "step_gflop_per_image"];

    /// <summary>Resolves the config, trains, and writes the run directory. Returns when done or cancelled.</summary>
    public static RunResult Execute(TrainOptions options, TextWriter console, CancellationToken cancel, bool interactive = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        var (config, dir, resume) = Resolve(options);
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory(Path.Combine(dir, "samples"));
        Directory.CreateDirectory(Path.Combine(dir, "checkpoints"));
        AtomicFile.WriteAllText(Path.Combine(dir, "config.yaml"), ConfigLoader.ToYaml(config));

        using var accelerator = AcceleratorSelector.Create(config.Device);
        console.WriteLine($"accelerator: {accelerator}");
        var dataset = DatasetFactory.Open(new DatasetSpec(config.Data.Dataset, config.Data.Path, ParseSplit(config.Data.Split),
            config.Model.Resolution, config.Model.Channels));
        console.WriteLine($"data: {dataset.Name}, {dataset.Count} images, {dataset.Channels}x{dataset.Height}x{dataset.Width}");

        using var trainer = new GanTrainer(config, accelerator);
        console.WriteLine($"model: {config.Model.Family} {config.Model.Resolution}x{config.Model.Resolution}, " +
            $"G {trainer.G.ParameterCount:N0} parameters, D {trainer.D.ParameterCount:N0}; loss {config.Loss.Kind}, augment {trainer.Augmentation}, batch {config.Train.Batch}, {config.Train.Steps} steps");
        long startBatch = 0;
        var checkpointPath = Path.Combine(dir, "checkpoints", "latest.ckpt");
        if (resume)
        {
            var checkpoint = CheckpointFile.Read(checkpointPath);
            startBatch = TrainerCheckpoint.Restore(trainer, checkpoint, checkpointPath);
            console.WriteLine($"resumed from {checkpointPath} at step {trainer.Step}");
        }
        using var loader = new BatchLoader(dataset, config.Train.Batch, config.Seed, config.Data.Prefetch, startBatch);
        using var feeder = new DeviceBatchFeeder(accelerator, accelerator.DefaultStream, loader, config.Train.Batch,
            config.Model.Channels, config.Model.Resolution, config.Model.Resolution);
        using var csv = resume
            ? MetricsCsv.Resume(Path.Combine(dir, MetricsCsv.FileName), Columns, trainer.Step)
            : MetricsCsv.Create(Path.Combine(dir, MetricsCsv.FileName), Columns);
        using var gridLatents = TensorScope.Own(trainer.FixedLatents(config.Train.GridSamples, GridSeed));
        var schedule = new ArchitectureSchedule(config);
        var architecture = new ArchitectureLog(dir, resume ? trainer.Step : -1);
        var startWidths = StartWidths(config);
        if (schedule.IsActive)
        {
            console.WriteLine($"architecture: {Describe(trainer)} at step {trainer.Step} ({schedule.Stage(trainer.Step)} stage)");
        }

        var progress = new ProgressReporter(console, config.Train.Steps, interactive);
        var total = Stopwatch.StartNew();
        var sinceLog = Stopwatch.StartNew();
        long stepsSinceLog = 0, firstStep = trainer.Step;
        double stepMsSum = 0;
        long stepMsCount = 0;
        RunOutcome outcome = RunOutcome.Completed;
        var cfg = config.Train;
        while (trainer.Step < cfg.Steps)
        {
            if (cancel.IsCancellationRequested)
            {
                outcome = RunOutcome.Interrupted;
                break;
            }
            sinceLog.Stop();   // architecture changes, sample grids and checkpoints are not step time
            foreach (var change in schedule.Apply(trainer))
            {
                architecture.Add(change);
                progress.Notice(change.ToString());
            }
            sinceLog.Start();
            long next = trainer.Step + 1;
            bool log = next % cfg.LogEvery == 0 || next == cfg.Steps;
            trainer.TrainStep(feeder.Next, keepValues: log);
            stepsSinceLog++;
            if (log)
            {
                var values = trainer.ReadValues();
                double seconds = sinceLog.Elapsed.TotalSeconds;
                sinceLog.Restart();
                double stepMs = seconds * 1000 / stepsSinceLog;
                double imagesPerSecond = stepsSinceLog * cfg.Batch * (config.Loss.DSteps + 1) / seconds;
                if (trainer.Step - firstStep > stepsSinceLog)
                {
                    stepMsSum += stepMs * stepsSinceLog;   // the first interval includes kernel compilation
                    stepMsCount += stepsSinceLog;
                }
                stepsSinceLog = 0;
                (trainer.Loss as IAdaptiveGanLoss)?.Observe(trainer.Step, values);
                csv.Append(trainer.Step, values.LossD, values.LossG, values.RealScore, values.FakeScore, stepMs, imagesPerSecond, total.Elapsed.TotalSeconds,
                    trainer.G.ParameterCount, trainer.D.ParameterCount, StepGflops(trainer));
                progress.Report(trainer.Step, 1000 / stepMs, imagesPerSecond, values, total.Elapsed);
                if (!float.IsFinite(values.LossD) || !float.IsFinite(values.LossG))
                {
                    progress.Notice($"step {trainer.Step}: a loss is not finite (D {values.LossD}, G {values.LossG}); stopping. The last good checkpoint is {checkpointPath}.");
                    throw new InvalidOperationException($"Training diverged at step {trainer.Step} (non-finite loss).");
                }
            }
            if (trainer.Step % cfg.SampleEvery == 0 || trainer.Step == cfg.Steps)
            {
                accelerator.Synchronize();   // finish the steps first: only the sampling is excluded
                sinceLog.Stop();
                WriteSamples(trainer, gridLatents, Path.Combine(dir, "samples", $"step-{trainer.Step:D6}.png"));
                sinceLog.Start();
            }
            if (trainer.Step % cfg.CheckpointEvery == 0 && trainer.Step < cfg.Steps)
            {
                accelerator.Synchronize();
                sinceLog.Stop();
                SaveCheckpoint(trainer, loader, config, checkpointPath);
                sinceLog.Start();
            }
        }
        progress.Finish();
        SaveCheckpoint(trainer, loader, config, checkpointPath);
        WriteSamples(trainer, gridLatents, Path.Combine(dir, "samples", "latest.png"));
        WriteLossPlot(dir);
        if (schedule.IsActive)
        {
            architecture.WritePlot(Path.Combine(dir, "architecture.svg"), startWidths, trainer.Step);
            console.WriteLine($"architecture: {Describe(trainer)} at step {trainer.Step}; {architecture.Count} changes in {ArchitectureLog.FileName}");
        }
        if (outcome == RunOutcome.Interrupted)
        {
            console.WriteLine($"interrupted at step {trainer.Step}: checkpoint written to {checkpointPath}; continue with --resume {dir}");
        }
        double meanStepMs = stepMsCount > 0 ? stepMsSum / stepMsCount : double.NaN;
        return new RunResult(outcome, dir, trainer.Step, total.Elapsed, meanStepMs);
    }

    /// <summary>Writes the sample grid of <paramref name="latents"/> as a PNG (square-ish grid, small images
    /// upscaled to at least 32 pixels); the EMA generator when present and asked for.</summary>
    public static void WriteSamples(GanTrainer trainer, Tensor latents, string path, bool useEma = true)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(latents);
        using var scope = new TensorScope();
        var images = trainer.Generate(latents, useEma).ToHost();
        int n = latents.Size(0), res = trainer.G.Resolution;
        int columns = (int)System.Math.Ceiling(System.Math.Sqrt(n));
        ImageGrid.WritePng(path, images, n, trainer.G.Channels, res, res, columns, scale: System.Math.Max(1, 32 / res));
    }

    // The loader's count includes the batches consumed before a resume: the position to restart from.
    private static void SaveCheckpoint(GanTrainer trainer, BatchLoader loader, TrainConfig config, string path)
    {
        var checkpoint = TrainerCheckpoint.Capture(trainer, loader.BatchesServed,
            new Dictionary<string, string> { ["config"] = ConfigLoader.ToYaml(config) });
        CheckpointFile.Write(path, checkpoint);
    }

    private static double StepGflops(GanTrainer trainer) =>
        trainer.G is IResizableNetwork && trainer.D is IResizableNetwork ? ArchitectureEditor.StepFlopsPerImage(trainer) / 1e9 : double.NaN;

    private static string Describe(GanTrainer trainer)
    {
        string Widths(NetworkSide side) => string.Join("/", ArchitectureEditor.Widths(trainer, side));
        return $"G widths {Widths(NetworkSide.Generator)} ({trainer.G.ParameterCount:N0} parameters), D widths {Widths(NetworkSide.Discriminator)} ({trainer.D.ParameterCount:N0})";
    }

    private static Dictionary<string, int> StartWidths(TrainConfig config)
    {
        var seed = GanTrainer.SeedModel(config);
        var result = new Dictionary<string, int>();
        if (config.Model.Family != "dcgan")
        {
            return result;
        }
        foreach (var (side, name) in new[] { (NetworkSide.Generator, "G"), (NetworkSide.Discriminator, "D") })
        {
            var widths = ArchitectureSchedule.FullWidths(seed, side);
            for (int i = 0; i < widths.Length; i++)
            {
                result[$"{name}.conv{i}"] = widths[i];
            }
        }
        return result;
    }

    private static void WriteLossPlot(string dir)
    {
        var table = MetricsCsv.Read(Path.Combine(dir, MetricsCsv.FileName));
        var steps = table.Column("step");
        SvgPlot.Write(Path.Combine(dir, "losses.svg"), "GAN losses", "step",
        [
            new SvgSeries("loss D", steps, table.Column("loss_d")),
            new SvgSeries("loss G", steps, table.Column("loss_g")),
            new SvgSeries("D(x)", steps, table.Column("d_real")),
            new SvgSeries("D(G(z))", steps, table.Column("d_fake")),
        ]);
    }

    private static (TrainConfig Config, string Dir, bool Resume) Resolve(TrainOptions o)
    {
        TrainConfig config;
        string dir;
        bool resume = o.ResumeDir is not null;
        if (resume)
        {
            dir = o.ResumeDir!;
            var configPath = Path.Combine(dir, "config.yaml");
            if (!File.Exists(configPath))
            {
                throw new ConfigException($"--resume {dir}: no config.yaml there (is it a run directory?).");
            }
            if (!File.Exists(Path.Combine(dir, "checkpoints", "latest.ckpt")))
            {
                throw new ConfigException($"--resume {dir}: no checkpoints/latest.ckpt there.");
            }
            if (o.ConfigPath is not null || o.Preset is not null || o.Seed is not null)
            {
                throw new ConfigException("--resume continues a run with its own config: --config, --preset and --seed cannot be combined with it.");
            }
            config = ConfigLoader.Load(configPath);
        }
        else
        {
            if (o.ConfigPath is not null && o.Preset is not null)
            {
                throw new ConfigException("Give either --config or --preset, not both (a config file can start with 'preset: NAME').");
            }
            config = o.ConfigPath is not null ? ConfigLoader.Load(o.ConfigPath) : ConfigLoader.Preset(o.Preset ?? ConfigLoader.DefaultPreset);
            dir = o.OutDir ?? Path.Combine("runs", $"{config.Preset}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        }
        if (o.Steps is { } steps)
        {
            config.Train.Steps = steps;
        }
        if (o.Seed is { } seed)
        {
            config.Seed = seed;
        }
        if (o.Device is not null)
        {
            config.Device = o.Device;
        }
        ConfigLoader.Validate(config);
        return (config, dir, resume);
    }

    private static DatasetSplit ParseSplit(string split) => split switch
    {
        "all" => DatasetSplit.All,
        "train" => DatasetSplit.Train,
        "test" => DatasetSplit.Test,
        _ => throw new ConfigException($"data.split must be all, train or test (got '{split}')."),
    };
}
