using GanEngine.Accelerators;

namespace GanEngine.Tensors;

/// <summary>
/// Deterministic ownership for a block of code: every tensor created on this thread while the scope
/// is the innermost one is disposed when the scope ends, unless <see cref="Keep"/> moved it out or it
/// is a <see cref="Parameter"/> (never scoped). Scopes nest; no finalizers are involved.
/// <code>
/// using (var scope = new TensorScope(accelerator))
/// {
///     var loss = Losses.Mse(model(x), y);   // intermediates belong to the scope
///     loss.Backward();                      // parameter gradients belong to the parameters
///     kept = scope.Keep(loss);              // survives the scope
/// }
/// </code>
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic]
    private static TensorScope? t_current;

    private readonly List<Tensor> _tensors = [];
    private readonly TensorScope? _parent;
    private bool _disposed;

    /// <summary>Opens a scope on the current thread.</summary>
    /// <param name="accelerator">The accelerator the scope's work runs on (informational; tensors of
    /// any accelerator are collected).</param>
    public TensorScope(Accelerator? accelerator = null)
    {
        Accelerator = accelerator;
        _parent = t_current;
        t_current = this;
    }

    /// <summary>The accelerator given at creation, if any.</summary>
    public Accelerator? Accelerator { get; }

    /// <summary>The innermost open scope of this thread, or null.</summary>
    public static TensorScope? Current => t_current;

    /// <summary>Tensors the scope will dispose.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var t in _tensors)
            {
                n += ReferenceEquals(t.Scope, this) ? 1 : 0;
            }
            return n;
        }
    }

    /// <summary>Removes <paramref name="tensor"/> from this scope and hands it to the enclosing scope (or,
    /// with none, to the caller, who disposes it). Returns the tensor.</summary>
    public T Keep<T>(T tensor) where T : Tensor
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (ReferenceEquals(tensor.Scope, this))
        {
            tensor.Scope = null;
            _parent?.Add(tensor);
        }
        return tensor;
    }

    /// <summary>Disposes the scope's tensors and closes it.</summary>
    /// <summary>
    /// Takes <paramref name="tensor"/> out of whatever scope would dispose it: the caller owns it from now
    /// on. For state that outlives a step (optimizer moments, running statistics, module weights) created
    /// while a scope is open.
    /// </summary>
    public static T Own<T>(T tensor) where T : Tensor
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.Scope = null;
        return tensor;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (ReferenceEquals(t_current, this))
        {
            t_current = _parent;
        }
        foreach (var t in _tensors)
        {
            if (ReferenceEquals(t.Scope, this))
            {
                t.Scope = null;
                t.Dispose();
            }
        }
        _tensors.Clear();
    }

    internal void Add(Tensor tensor)
    {
        tensor.Scope = this;
        _tensors.Add(tensor);
    }
}
