// GanEngine.Bench: verify, then time, the kernel-language BLAS and element-wise kernels.
//
//   dotnet GanEngine.Bench.dll [--device cuda|opencl|cpu] [--size 4096] [--copy-mib 1024]
//                              [--reps 50] [--warmup 5] [--only copy,axpy,sgemm,tf32] [--json out.json]
//   (more groups: conv, norm, sparse, mconv, convalgo: the convolution algorithms side by side)
//
// Each benchmark allocates, fills its inputs with fresh random data, poisons its output (NaN),
// runs once and checks against a float64 host reference, then warms up and times --reps launches
// one by one with device events, and reports the median. Exit code 1 if any check failed.
using System.Globalization;
using GanEngine.Accelerators;
using GanEngine.Bench;

var options = BenchOptions.Parse(args);
using var accelerator = AcceleratorSelector.Create(options.Device);
Console.WriteLine($"# device: {accelerator.Info}");
var runner = new BenchRunner(accelerator, options);
var results = runner.RunAll();

Console.WriteLine();
Console.WriteLine(ResultTable.Format(results));
if (options.JsonPath is not null)
{
    ResultTable.WriteJson(options.JsonPath, accelerator.Info.ToString(), options, results);
    Console.WriteLine($"# wrote {options.JsonPath}");
}
// Kernel compilation: a second process with the same GANENGINE_KERNEL_CACHE compiles nothing.
Console.WriteLine($"# kernels: {accelerator.CompileStatistics}");
int failed = results.Count(r => !r.Passed);
Console.WriteLine(failed == 0 ? "# all checks passed" : $"# {failed} check(s) FAILED");
return failed == 0 ? 0 : 1;

namespace GanEngine.Bench
{
    /// <summary>Command-line options (plain <c>--name value</c> pairs).</summary>
    internal sealed record BenchOptions(string? Device, int Size, int CopyMiB, int Reps, int Warmup, string[] Only, string? JsonPath)
    {
        public static BenchOptions Parse(string[] args)
        {
            string? device = null, json = null;
            int? size = null, copyMiB = null;
            int? reps = null, warmup = null;
            string[] only = ["copy", "axpy", "sgemm", "tf32"];
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--device": device = Next(); break;
                    case "--size": size = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--copy-mib": copyMiB = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--reps": reps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--only": only = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                    case "--json": json = Next(); break;
                    case "-h" or "--help":
                        Console.WriteLine("usage: GanEngine.Bench [--device cuda|opencl|cpu] [--size N] [--copy-mib MiB] [--reps N] [--warmup N] [--only copy,axpy,sgemm,tf32] [--json out.json]");
                        Environment.Exit(0);
                        break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            // The CPU accelerator runs the C# kernels thread by thread: keep its default problem small.
            bool cpu = string.Equals(device, "cpu", StringComparison.OrdinalIgnoreCase);
            return new BenchOptions(device, size ?? (cpu ? 128 : 4096), copyMiB ?? (cpu ? 4 : 1024),
                reps ?? (cpu ? 3 : 50), warmup ?? (cpu ? 1 : 5), only, json);
        }
    }
}
