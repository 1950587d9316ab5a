using System.CommandLine;
using GanEngine.Accelerators;

namespace GanEngine.Cli;

/// <summary>The <c>gan</c> command. Today: <c>devices</c>; <c>train</c>, <c>sample</c>, <c>eval</c> and
/// <c>bench</c> arrive with the training layer.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("GanEngine: train GANs on our own GPU kernels (CUDA, OpenCL, CPU).");
        root.Subcommands.Add(DevicesCommand());
        return root.Parse(args).Invoke();
    }

    private static Command DevicesCommand()
    {
        var device = new Option<string?>("--device")
        {
            Description = $"Also open this accelerator and show what it reports (auto, cpu, cuda[:N], opencl[:PLATFORM]; default: ${AcceleratorSelector.EnvironmentVariable} or auto).",
        };
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

    /// <summary>Runs a command; a user error (a wrong accelerator name, an unusable backend) prints its
    /// message, not a stack trace, and exits with 2.</summary>
    private static int Guarded(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"gan: {e.Message}");
            return 2;
        }
    }
}
