using System.CommandLine;
using GanEngine.Accelerators;
using GanEngine.Datasets;
using GanEngine.Training.Config;
using GanEngine.Training.IO;

namespace GanEngine.Cli;

/// <summary>The <c>gan</c> command: <c>train</c>, <c>sample</c>, <c>eval</c>, <c>bench</c>, <c>devices</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("GanEngine: train GANs on our own GPU kernels (CUDA, OpenCL, CPU).");
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(SampleCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(DevicesCommand());
        return root.Parse(args).Invoke();
    }

    /// <summary>The --device option every command shares.</summary>
    internal static Option<string?> DeviceOption() => new("--device")
    {
        Description = $"Accelerator: auto, cpu, cpu-deterministic, cuda[:N], opencl[:PLATFORM] (default: ${AcceleratorSelector.EnvironmentVariable}, then the config, then auto).",
    };

    private static Command DevicesCommand()
    {
        var device = DeviceOption();
        var command = new Command("devices", "List the accelerators found on this machine and the one that would be used.");
        command.Options.Add(device);
        command.SetAction(result => Guarded(() =>
        {
            Console.WriteLine($"{"id",-28} {"kind",-7} description");
            foreach (var candidate in AcceleratorSelector.Discover())
            {
                string id = candidate.Available ? candidate.Id : $"({candidate.Id})";
                string what = candidate.Available ? candidate.Description : $"unavailable: {candidate.Description}";
                Console.WriteLine($"{id,-28} {candidate.Kind,-7} {what}");
            }
            using var chosen = AcceleratorSelector.Create(result.GetValue(device));
            Console.WriteLine();
            Console.WriteLine($"selected: {chosen.Info}");
            return 0;
        }));
        return command;
    }

    /// <summary>Runs a command; a user error (bad config, missing or malformed data, a bad checkpoint, a
    /// wrong accelerator name) prints its message, not a stack trace, and exits with 2.</summary>
    internal static int Guarded(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ConfigException or DatasetException or CheckpointException or ArgumentException
                                      or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine($"gan: {e.Message}");
            return 2;
        }
    }
}
