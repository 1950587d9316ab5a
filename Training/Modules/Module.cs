using GanEngine.Tensors;

namespace GanEngine.Training.Modules;

/// <summary>
/// A network part that owns parameters (trained) and buffers (state such as BatchNorm's running
/// statistics or spectral norm's power-iteration vectors), and child modules. Names are dotted paths
/// (<c>blocks.2.conv.weight</c>), stable across runs: checkpoints and architecture changes address
/// tensors by them. A module owns what it holds and disposes it; parameters are never scoped.
/// </summary>
public abstract class Module : IDisposable
{
    private bool _disposed;

    /// <summary>Training mode (batch statistics, power iterations) or evaluation mode.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>The module's own parameters, by local name (not its children's).</summary>
    protected virtual IEnumerable<(string Name, Parameter Parameter)> LocalParameters => [];

    /// <summary>The module's own buffers, by local name.</summary>
    protected virtual IEnumerable<(string Name, Tensor Buffer)> LocalBuffers => [];

    /// <summary>Direct children, by local name.</summary>
    protected virtual IEnumerable<(string Name, Module Child)> Children => [];

    /// <summary>Every parameter of this module and its descendants, depth first, with dotted names.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in LocalParameters)
        {
            yield return (prefix + name, p);
        }
        foreach (var (name, child) in Children)
        {
            foreach (var item in child.NamedParameters(prefix + name + "."))
            {
                yield return item;
            }
        }
    }

    /// <summary>Every buffer of this module and its descendants, with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (name, b) in LocalBuffers)
        {
            yield return (prefix + name, b);
        }
        foreach (var (name, child) in Children)
        {
            foreach (var item in child.NamedBuffers(prefix + name + "."))
            {
                yield return item;
            }
        }
    }

    /// <summary>Every module below this one (and itself first), with dotted names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix.TrimEnd('.'), this);
        foreach (var (name, child) in Children)
        {
            foreach (var item in child.NamedModules(prefix + name + "."))
            {
                yield return item;
            }
        }
    }

    /// <summary>The parameters in <see cref="NamedParameters"/> order (the optimizer's order).</summary>
    public IReadOnlyList<Parameter> Parameters() => [.. NamedParameters().Select(p => p.Parameter)];

    /// <summary>Trainable values in the module.</summary>
    public long ParameterCount => NamedParameters().Sum(p => (long)p.Parameter.Length);

    /// <summary>Switches this module and its descendants to training or evaluation mode.</summary>
    public void SetTraining(bool training)
    {
        foreach (var (_, m) in NamedModules())
        {
            m.IsTraining = training;
        }
    }

    /// <summary>Whether gradients are computed for the parameters (off for D while G trains: saves D's weight gradients).</summary>
    public void SetRequiresGrad(bool requiresGrad)
    {
        foreach (var (_, p) in NamedParameters())
        {
            p.RequiresGrad = requiresGrad;
        }
    }

    /// <summary>Copies every parameter and buffer value from <paramref name="source"/>, which must have the
    /// same names and shapes (on the device, stream ordered).</summary>
    public void CopyStateFrom(Module source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var theirs = source.State().ToDictionary(s => s.Name, s => s.Tensor);
        foreach (var (name, mine) in State())
        {
            if (!theirs.TryGetValue(name, out var other))
            {
                throw new ArgumentException($"CopyStateFrom: the source has no '{name}'.");
            }
            mine.CopyFrom(other);
        }
    }

    /// <summary>Parameters then buffers, with their names: what a checkpoint stores.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State() =>
        NamedParameters().Select(p => (p.Name, (Tensor)p.Parameter)).Concat(NamedBuffers());

    /// <summary>Disposes the parameters, buffers and children.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var (_, p) in LocalParameters)
        {
            p.Dispose();
        }
        foreach (var (_, b) in LocalBuffers)
        {
            b.Dispose();
        }
        foreach (var (_, c) in Children)
        {
            c.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}
