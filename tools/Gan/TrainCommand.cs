using System.CommandLine;
using GanEngine.Training.Config;
using GanEngine.Training.Evaluation;
using GanEngine.Training.Loop;

namespace GanEngine.Cli;

/// <summary><c>gan train</c>: trains from a preset or YAML config into a run directory; Ctrl-C checkpoints and exits.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "YAML config file (may start with 'preset: NAME')." };
        var preset = new Option<string?>("--preset") { Description = $"Built-in config: {string.Join(", ", ConfigLoader.PresetNames)} (default {ConfigLoader.DefaultPreset})." };
        var steps = new Option<int?>("--steps") { Description = "G steps to train (overrides the config)." };
        var outDir = new Option<string?>("--out") { Description = "Run directory (default runs/<preset>-<time>)." };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of weights, latents and data order (overrides the config)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this directory from its latest checkpoint." };
        var noEval = new Option<bool>("--no-eval") { Description = "Skip the evaluation at the end of the run." };
        var device = Program.DeviceOption();
        var command = new Command("train", "Train a GAN; writes config, metrics, sample grids, loss plot and checkpoints to the run directory.")
        {
            config, preset, steps, outDir, seed, resume, noEval, device,
        };
        command.SetAction(result => Program.Guarded(() =>
        {
            var options = new TrainOptions
            {
                ConfigPath = result.GetValue(config),
                Preset = result.GetValue(preset),
                Steps = result.GetValue(steps),
                OutDir = result.GetValue(outDir),
                Seed = result.GetValue(seed),
                ResumeDir = result.GetValue(resume),
                Device = result.GetValue(device) ?? Environment.GetEnvironmentVariable(Accelerators.AcceleratorSelector.EnvironmentVariable),
                Evaluate = !result.GetValue(noEval),
            };
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                if (!cancel.IsCancellationRequested)
                {
                    e.Cancel = true;   // first Ctrl-C: finish the step, checkpoint, exit; a second one kills
                    cancel.Cancel();
                }
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                bool interactive = !Console.IsOutputRedirected;
                var run = TrainingRun.Execute(options, Console.Out, cancel.Token, interactive);
                Console.WriteLine($"run directory: {run.Directory} (step {run.Step}, {run.Elapsed:hh\\:mm\\:ss}, {run.MeanStepMilliseconds:F1} ms/step)");
                if (run.Outcome == RunOutcome.Interrupted)
                {
                    return 130;
                }
                if (options.Evaluate)
                {
                    RunEvaluation.EvaluateRun(run.Directory, new EvaluationOptions { Device = options.Device }, Console.Out);
                }
                return 0;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }));
        return command;
    }
}
