using System.CommandLine;
using GanEngine.Accelerators;
using GanEngine.Tensors;
using GanEngine.Training.Config;
using GanEngine.Training.IO;
using GanEngine.Training.Loop;

namespace GanEngine.Cli;

/// <summary><c>gan sample</c>: a grid of images from a run's latest checkpoint.</summary>
internal static class SampleCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Run directory (config.yaml and checkpoints/latest.ckpt).", Required = true };
        var count = new Option<int>("--count") { Description = "Images in the grid.", DefaultValueFactory = _ => 64 };
        var output = new Option<string?>("--out") { Description = "PNG file to write (default <run>/samples/sample-seed<S>.png)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the latents.", DefaultValueFactory = _ => 1 };
        var noEma = new Option<bool>("--no-ema") { Description = "Use the trained generator, not its moving average." };
        var device = Program.DeviceOption();
        var command = new Command("sample", "Write a grid of generated images from a run's latest checkpoint.") { run, count, output, seed, noEma, device };
        command.SetAction(result => Program.Guarded(() =>
        {
            string dir = result.GetValue(run)!;
            int n = result.GetValue(count);
            if (n < 1)
            {
                throw new ArgumentException($"--count must be at least 1 (got {n}).");
            }
            var config = ConfigLoader.Load(Path.Combine(dir, "config.yaml"));
            config.Device = result.GetValue(device) ?? Environment.GetEnvironmentVariable(AcceleratorSelector.EnvironmentVariable) ?? config.Device;
            using var accelerator = AcceleratorSelector.Create(config.Device);
            using var trainer = new GanTrainer(config, accelerator);
            string checkpoint = Path.Combine(dir, "checkpoints", "latest.ckpt");
            TrainerCheckpoint.Restore(trainer, CheckpointFile.Read(checkpoint), checkpoint);
            string path = result.GetValue(output) ?? Path.Combine(dir, "samples", $"sample-seed{result.GetValue(seed)}.png");
            using var z = TensorScope.Own(trainer.FixedLatents(n, result.GetValue(seed)));
            bool ema = !result.GetValue(noEma);
            if (ema && trainer.Ema is null)
            {
                Console.WriteLine("this run has no EMA generator (ema_decay 0): sampling the trained generator");
            }
            TrainingRun.WriteSamples(trainer, z, path, ema);
            Console.WriteLine($"{n} samples of step {trainer.Step} ({(ema && trainer.Ema is not null ? "EMA generator" : "generator")}) written to {path}");
            return 0;
        }));
        return command;
    }
}
