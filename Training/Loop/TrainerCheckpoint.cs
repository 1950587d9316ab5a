using System.Globalization;
using GanEngine.Tensors;
using GanEngine.Training.Architecture;
using GanEngine.Training.IO;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Loop;

/// <summary>
/// A <see cref="GanTrainer"/>'s whole state as a <see cref="Checkpoint"/>: G, D and EMA parameters and
/// buffers, both optimizers' moments and step counts, the latent stream's offset, the data position and
/// the step. Tensors are keyed by module path (<c>G.conv0.weight</c>, <c>optim.D.exp_avg.conv1.weight</c>),
/// so a checkpoint names what it holds; restoring checks every name and shape.
/// </summary>
public static class TrainerCheckpoint
{
    /// <summary>Value of the <c>kind</c> metadata entry.</summary>
    public const string Kind = "ganengine-trainer";

    /// <summary>Version of the trainer's use of the file (separate from the file format's version).</summary>
    public const int Version = 1;

    /// <summary>Reads the trainer state to the host (waits for the device) and adds the caller's metadata.</summary>
    public static Checkpoint Capture(GanTrainer trainer, long batchesServed, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var c = new Checkpoint();
        if (metadata is not null)
        {
            foreach (var (k, v) in metadata)
            {
                c.Metadata[k] = v;
            }
        }
        c.Metadata["kind"] = Kind;
        c.Metadata["version"] = Version.ToString(CultureInfo.InvariantCulture);
        c.Metadata["step"] = trainer.Step.ToString(CultureInfo.InvariantCulture);
        c.Metadata["latent_offset"] = trainer.Latents.Offset.ToString(CultureInfo.InvariantCulture);
        c.Metadata["batches_served"] = batchesServed.ToString(CultureInfo.InvariantCulture);
        c.Metadata["optim.G.step"] = trainer.GOptimizer.StepCount.ToString(CultureInfo.InvariantCulture);
        c.Metadata["optim.D.step"] = trainer.DOptimizer.StepCount.ToString(CultureInfo.InvariantCulture);
        if (trainer.Loss is IAdaptiveGanLoss adaptive)
        {
            c.Metadata["loss.state"] = adaptive.State;
        }
        foreach (var side in new[] { NetworkSide.Generator, NetworkSide.Discriminator })
        {
            if ((side == NetworkSide.Generator ? (object)trainer.G : trainer.D) is IResizableNetwork)
            {
                c.Metadata[WidthsKey(side)] = string.Join(",", ArchitectureEditor.Widths(trainer, side));
            }
        }
        foreach (var (name, t) in Entries(trainer))
        {
            c.Tensors[name] = new CheckpointTensor(t.ShapeArray(), t.ToHost());
        }
        return c;
    }

    /// <summary>Loads <paramref name="checkpoint"/> into a trainer built from the same config.
    /// Returns the number of data batches the run had consumed.</summary>
    public static long Restore(GanTrainer trainer, Checkpoint checkpoint, string source)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!checkpoint.Metadata.TryGetValue("kind", out var kind) || kind != Kind)
        {
            throw new CheckpointException($"{source}: not a GanEngine trainer checkpoint (kind '{kind ?? "missing"}').");
        }
        int version = int.Parse(Get(checkpoint, "version", source), CultureInfo.InvariantCulture);
        if (version > Version)
        {
            throw new CheckpointException($"{source}: trainer checkpoint version {version} is newer than this build reads ({Version}).");
        }
        // A run that grew or pruned: give the fresh trainer the stored widths before loading the values.
        foreach (var side in new[] { NetworkSide.Generator, NetworkSide.Discriminator })
        {
            if (checkpoint.Metadata.TryGetValue(WidthsKey(side), out var widths))
            {
                ArchitectureEditor.Reshape(trainer, side, [.. widths.Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture))]);
            }
        }
        var expected = Entries(trainer).ToList();
        foreach (var (name, t) in expected)
        {
            if (!checkpoint.Tensors.TryGetValue(name, out var stored))
            {
                throw new CheckpointException($"{source}: the checkpoint has no tensor '{name}' (was it written for another architecture?).");
            }
            if (!stored.Shape.SequenceEqual(t.ShapeArray()))
            {
                throw new CheckpointException(
                    $"{source}: tensor '{name}' has shape ({string.Join(", ", stored.Shape)}), the model expects ({string.Join(", ", t.ShapeArray())}).");
            }
        }
        foreach (var (name, t) in expected)
        {
            t.Stream.CopyToDevice<float>(checkpoint.Tensors[name].Data, t.DenseView);
        }
        if (trainer.Loss is IAdaptiveGanLoss adaptive && checkpoint.Metadata.TryGetValue("loss.state", out var lossState))
        {
            adaptive.State = lossState;
        }
        trainer.GOptimizer.StepCount = long.Parse(Get(checkpoint, "optim.G.step", source), CultureInfo.InvariantCulture);
        trainer.DOptimizer.StepCount = long.Parse(Get(checkpoint, "optim.D.step", source), CultureInfo.InvariantCulture);
        trainer.RestoreCounters(
            long.Parse(Get(checkpoint, "step", source), CultureInfo.InvariantCulture),
            ulong.Parse(Get(checkpoint, "latent_offset", source), CultureInfo.InvariantCulture));
        return long.Parse(Get(checkpoint, "batches_served", source), CultureInfo.InvariantCulture);
    }

    /// <summary>Every tensor of the trainer's state with its checkpoint name.</summary>
    public static IEnumerable<(string Name, Tensor Tensor)> Entries(GanTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        foreach (var item in Prefixed("G.", trainer.G))
        {
            yield return item;
        }
        foreach (var item in Prefixed("D.", trainer.D))
        {
            yield return item;
        }
        if (trainer.Ema is not null)
        {
            foreach (var item in Prefixed("EMA.", trainer.Ema.Model))
            {
                yield return item;
            }
        }
        foreach (var item in Moments("optim.G.", trainer.G, trainer.GOptimizer))
        {
            yield return item;
        }
        foreach (var item in Moments("optim.D.", trainer.D, trainer.DOptimizer))
        {
            yield return item;
        }
    }

    private static IEnumerable<(string, Tensor)> Prefixed(string prefix, Module module) =>
        module.State().Select(s => (prefix + s.Name, s.Tensor));

    private static IEnumerable<(string, Tensor)> Moments(string prefix, Module module, Nn.Adam adam)
    {
        var names = module.NamedParameters().Select(p => p.Name).ToList();
        for (int i = 0; i < names.Count; i++)
        {
            yield return (prefix + "exp_avg." + names[i], adam.FirstMoment(i));
            yield return (prefix + "exp_avg_sq." + names[i], adam.SecondMoment(i));
        }
    }

    private static string WidthsKey(NetworkSide side) => side == NetworkSide.Generator ? "architecture.G.widths" : "architecture.D.widths";

    private static string Get(Checkpoint c, string key, string source) =>
        c.Metadata.TryGetValue(key, out var v) ? v : throw new CheckpointException($"{source}: metadata entry '{key}' is missing.");
}
