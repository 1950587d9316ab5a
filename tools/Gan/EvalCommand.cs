using System.CommandLine;
using GanEngine.Accelerators;
using GanEngine.Training.Evaluation;

namespace GanEngine.Cli;

/// <summary><c>gan eval</c>: FID, KID, Inception Score and class coverage of a run, with the protocol.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Run directory.", Required = true };
        var samples = new Option<int>("--samples") { Description = "Generated images per generator.", DefaultValueFactory = _ => 2000 };
        var epochs = new Option<int>("--classifier-epochs") { Description = "Epochs of the feature classifier (cached per data set).", DefaultValueFactory = _ => 10 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the latents and of the classifier.", DefaultValueFactory = _ => 7 };
        var device = Program.DeviceOption();
        var command = new Command("eval", "Measure a run's quality: FID and KID on the data set's classifier features against its held-out split, IS, class coverage.")
        {
            run, samples, epochs, seed, device,
        };
        command.SetAction(result => Program.Guarded(() =>
        {
            if (result.GetValue(samples) < 10)
            {
                throw new ArgumentException("--samples must be at least 10 (the Inception Score uses 10 splits).");
            }
            RunEvaluation.EvaluateRun(result.GetValue(run)!, new EvaluationOptions
            {
                Samples = result.GetValue(samples),
                ClassifierEpochs = result.GetValue(epochs),
                Seed = result.GetValue(seed),
                Device = result.GetValue(device) ?? Environment.GetEnvironmentVariable(AcceleratorSelector.EnvironmentVariable),
            }, Console.Out);
            return 0;
        }));
        return command;
    }
}
