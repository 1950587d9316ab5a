using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GanEngine.Accelerators;
using GanEngine.Ops.Rng;
using GanEngine.Tensors;
using GanEngine.Training.Architecture;
using GanEngine.Training.Config;
using GanEngine.Training.Loop;

namespace GanEngine.Cli;

/// <summary>
/// <c>gan bench</c>: wall-clock time of one DCGAN-32 training iteration (the dcgan32 preset's model with 3
/// channels: D step on real + fake, G step, Adam, EMA off) at each batch size, after warm-up, with a
/// synchronisation only at both ends; beside the PyTorch peer (eager and CUDA graph) when its script and
/// a CUDA PyTorch are present, in the same run.
/// </summary>
internal static class BenchCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static Command Create()
    {
        var batches = new Option<string>("--batches") { Description = "Batch sizes, comma separated.", DefaultValueFactory = _ => "64,256" };
        var iterations = new Option<int>("--iterations") { Description = "Timed iterations per batch size.", DefaultValueFactory = _ => 200 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed iterations first (kernel compilation, allocator warm-up).", DefaultValueFactory = _ => 20 };
        var math = new Option<string>("--math") { Description = "tf32 or fp32.", DefaultValueFactory = _ => "tf32" };
        var peer = new Option<string?>("--peer") { Description = "PyTorch peer script (default: tools/peer/peer_dcgan.py when it exists; 'none' to skip)." };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON here." };
        var prune = new Option<float>("--prune-ratio")
        {
            Description = "Prune every hidden width of G and D by this share (L1, rounded down to a multiple of 8) before timing: does the step get faster by the FLOPs removed?",
            DefaultValueFactory = _ => 0f,
        };
        var device = Program.DeviceOption();
        var command = new Command("bench", "Time the DCGAN-32 training iteration, beside PyTorch (eager and CUDA graph) when available.")
        {
            batches, iterations, warmup, math, peer, json, prune, device,
        };
        command.SetAction(result => Program.Guarded(() => Run(
            [.. result.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(b => int.Parse(b, CultureInfo.InvariantCulture))],
            result.GetValue(iterations), result.GetValue(warmup), result.GetValue(math)!, result.GetValue(peer), result.GetValue(json),
            result.GetValue(device) ?? Environment.GetEnvironmentVariable(AcceleratorSelector.EnvironmentVariable), result.GetValue(prune))));
        return command;
    }

    private sealed record Row(int Batch, double Milliseconds, double ImagesPerSecond, long HostSyncs, long DriverAllocations, long GParameters, long DParameters,
        double StepGflopPerImage, string Widths);

    private static int Run(int[] batches, int iterations, int warmup, string math, string? peerScript, string? jsonPath, string? device, float pruneRatio)
    {
        if (!(pruneRatio >= 0f && pruneRatio < 1f))
        {
            throw new ArgumentException($"--prune-ratio must be in [0, 1), got {pruneRatio}.");
        }
        using var accelerator = AcceleratorSelector.Create(device);
        Console.WriteLine($"accelerator: {accelerator}");
        var rows = new List<Row>();
        int[] gWidths = [], dWidths = [];
        foreach (int batch in batches)
        {
            var config = ConfigLoader.Preset("dcgan32");
            config.Model.Channels = 3;
            config.Model.EmaDecay = 0f;
            config.Train.Batch = batch;
            config.Math = math;
            ConfigLoader.Validate(config);
            using var trainer = new GanTrainer(config, accelerator);
            if (pruneRatio > 0f)
            {
                foreach (var side in new[] { NetworkSide.Generator, NetworkSide.Discriminator })
                {
                    var widths = ArchitectureEditor.Widths(trainer, side);
                    for (int i = 0; i < widths.Length; i++)
                    {
                        int keep = (widths[i] - (int)MathF.Round(widths[i] * pruneRatio)) / 8 * 8;
                        ArchitectureEditor.Prune(trainer, side, i, Math.Max(8, keep), new PruneOptions());
                    }
                }
            }
            gWidths = ArchitectureEditor.Widths(trainer, NetworkSide.Generator);
            dWidths = ArchitectureEditor.Widths(trainer, NetworkSide.Discriminator);
            string widthsText = $"G {string.Join("/", gWidths)}, D {string.Join("/", dWidths)}";
            double gflop = ArchitectureEditor.StepFlopsPerImage(trainer) / 1e9;
            using var real = TensorScope.Own(Tensor.Empty(accelerator, [batch, 3, 32, 32]));
            Philox.Uniform(real.Stream, 99, 0, real.DenseView, real.Length, -1f, 1f);
            for (int i = 0; i < warmup; i++)
            {
                trainer.TrainStep(() => real);
            }
            accelerator.Synchronize();
            long syncs = accelerator.HostSynchronizations, allocations = accelerator.DriverAllocations;
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
            {
                trainer.TrainStep(() => real);
            }
            accelerator.Synchronize();
            double ms = clock.Elapsed.TotalMilliseconds / iterations;
            var row = new Row(batch, ms, batch * 2 * 1000 / ms, accelerator.HostSynchronizations - syncs - 1,
                accelerator.DriverAllocations - allocations, trainer.G.ParameterCount, trainer.D.ParameterCount, gflop, widthsText);
            rows.Add(row);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batch}: {ms:F3} ms/iteration, {row.ImagesPerSecond:F0} img/s, host syncs in timed steps {row.HostSyncs}, driver allocations {row.DriverAllocations} (G {row.GParameters:N0}, D {row.DParameters:N0} parameters; widths {row.Widths}; {row.StepGflopPerImage:F3} GFLOP per image per iteration)"));
        }
        if (LaunchProfile.Enabled)
        {
            LaunchProfile.Print();
        }
        // The peer runs the same widths, so pruned iterations are compared with cuDNN on the same shapes.
        var peer = RunPeer(peerScript, batches, iterations, warmup, gWidths, dWidths);
        Console.WriteLine();
        Console.WriteLine($"DCGAN-32 training iteration, {math}, wall-clock ms ({iterations} iterations after {warmup} warm-up)");
        Console.WriteLine();
        Console.WriteLine("| batch | GanEngine | PyTorch eager | PyTorch CUDA graph | vs eager | vs graph |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            var p = peer?.RootElement.GetProperty("rows").EnumerateArray().FirstOrDefault(e => e.GetProperty("batch").GetInt32() == r.Batch);
            string eager = "-", graph = "-", vsEager = "-", vsGraph = "-";
            if (p is { ValueKind: JsonValueKind.Object } row)
            {
                double e = row.GetProperty("eager_ms").GetDouble(), g = row.GetProperty("graph_ms").GetDouble();
                eager = e.ToString("F3", CultureInfo.InvariantCulture);
                graph = g.ToString("F3", CultureInfo.InvariantCulture);
                vsEager = (e / r.Milliseconds).ToString("F2", CultureInfo.InvariantCulture) + "x";
                vsGraph = (g / r.Milliseconds).ToString("F2", CultureInfo.InvariantCulture) + "x";
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Batch} | {r.Milliseconds:F3} | {eager} | {graph} | {vsEager} | {vsGraph} |"));
        }
        Console.WriteLine();
        Console.WriteLine("vs = PyTorch time / GanEngine time (above 1: GanEngine faster).");
        if (peer is not null)
        {
            Console.WriteLine($"peer: {peer.RootElement.GetProperty("peer").GetString()}");
        }
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { accelerator = accelerator.ToString(), math, iterations, warmup, rows, peer = peer?.RootElement },
                JsonOptions));
        }
        peer?.Dispose();
        return 0;
    }

    private static JsonDocument? RunPeer(string? script, int[] batches, int iterations, int warmup, int[] gWidths, int[] dWidths)
    {
        if (script == "none")
        {
            return null;
        }
        script ??= File.Exists(Path.Combine("tools", "peer", "peer_dcgan.py")) ? Path.Combine("tools", "peer", "peer_dcgan.py") : null;
        if (script is null)
        {
            Console.WriteLine("peer: tools/peer/peer_dcgan.py not found here (run from the repository root or pass --peer); PyTorch columns left empty");
            return null;
        }
        string output = Path.Combine(Path.GetTempPath(), $"gan-bench-peer-{Environment.ProcessId}.json");
        var start = new ProcessStartInfo("python3")
        {
            ArgumentList = { script, "--batches", string.Join(',', batches), "--iterations", iterations.ToString(CultureInfo.InvariantCulture),
                "--warmup", warmup.ToString(CultureInfo.InvariantCulture), "--json", output,
                "--g-widths", string.Join(',', gWidths), "--d-widths", string.Join(',', dWidths) },
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        try
        {
            using var process = Process.Start(start)!;
            process.WaitForExit();
            if (process.ExitCode != 0 || !File.Exists(output))
            {
                Console.WriteLine($"peer: {script} exited with {process.ExitCode} (no CUDA PyTorch here?); PyTorch columns left empty");
                return null;
            }
            return JsonDocument.Parse(File.ReadAllText(output));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"peer: cannot start python3 ({e.Message}); PyTorch columns left empty");
            return null;
        }
    }
}
