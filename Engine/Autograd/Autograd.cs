namespace GanEngine.Tensors;

/// <summary>
/// Reverse-mode automatic differentiation, micrograd-style: each differentiable op calls
/// <see cref="Record"/> with its inputs, the tensors its backward needs, and a backward closure;
/// <see cref="Backward"/> sorts the recorded nodes topologically and runs the closures in reverse,
/// accumulating into <see cref="Tensor.Grad"/> of the leaves that require grad.
/// </summary>
/// <remarks>Semantics as PyTorch's: gradients accumulate across <c>Backward</c> calls until zeroed;
/// non-leaf tensors keep no gradient; the graph is freed by <c>Backward</c> unless retained;
/// <see cref="NoGrad"/> disables recording on the current thread.</remarks>
public static class Autograd
{
    [ThreadStatic]
    private static int t_noGradDepth;

    /// <summary>Whether ops record nodes on this thread.</summary>
    public static bool IsEnabled => t_noGradDepth == 0;

    internal static void EndNoGrad() => t_noGradDepth--;

    /// <summary>Disables recording until the returned scope is disposed (<c>torch.no_grad()</c>).</summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope(true);
    }

    /// <summary>
    /// Records the op that produced <paramref name="output"/> when recording is on and any input
    /// requires grad: sets <c>output.RequiresGrad</c> and <c>output.GradFn</c>. <paramref name="save"/>
    /// lists the tensors the closure reads (as <c>node.Saved[i]</c>); they are kept alive until backward.
    /// </summary>
    public static Tensor Record(Tensor output, string name, Tensor[] inputs, Tensor[] save, BackwardFunction backward)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(save);
        if (!IsEnabled)
        {
            return output;
        }
        bool any = false;
        foreach (var t in inputs)
        {
            any |= t.RequiresGrad;
        }
        if (!any)
        {
            return output;
        }
        var saved = new Tensor[save.Length];
        for (int i = 0; i < save.Length; i++)
        {
            saved[i] = save[i].Alias();
        }
        output.RequiresGrad = true;
        output.GradFn = new Node(name, inputs, saved, backward);
        return output;
    }

    /// <summary>
    /// Backpropagates from the scalar <paramref name="root"/> (gradient 1): every leaf reached that
    /// requires grad gets the gradient added to its <see cref="Tensor.Grad"/>. Each node's saved tensors
    /// and gradients are freed as soon as the node has run (unless <paramref name="retainGraph"/>).
    /// Everything is stream-ordered: no host synchronisation.
    /// </summary>
    public static void Backward(Tensor root, bool retainGraph = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (root.Length != 1)
        {
            throw new InvalidOperationException($"Backward needs a scalar; this tensor has {root.Length} elements (grad can be implicitly created only for scalar outputs).");
        }
        if (!root.RequiresGrad)
        {
            throw new InvalidOperationException("The tensor does not require grad and has no grad_fn.");
        }
        using var noGrad = NoGrad();
        var seed = Tensor.Full(root.Accelerator, root.ShapeArray(), 1f, root.Stream);
        seed.Scope = null;
        if (root.GradFn == null)
        {
            AccumulateLeaf(root, seed);
            seed.Dispose();
            return;
        }
        var order = TopologicalOrder(root.GradFn);
        var grads = new Dictionary<Node, Tensor>(ReferenceEqualityComparer.Instance) { [root.GradFn] = seed };
        for (int k = order.Count - 1; k >= 0; k--)
        {
            var node = order[k];
            if (!grads.Remove(node, out var g))
            {
                continue; // no gradient reached it
            }
            if (node.IsReleased)
            {
                g.Dispose();
                _ = node.Saved; // throws with the explanation
            }
            var inputGrads = node.BackwardFn(node, g);
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                var input = node.Inputs[i];
                var gi = i < inputGrads.Length ? inputGrads[i] : null;
                if (gi == null || !input.RequiresGrad)
                {
                    continue;
                }
                if (!gi.Shape.SequenceEqual(input.Shape))
                {
                    throw new InvalidOperationException($"{node}: gradient {Tensor.Format(gi.Shape)} for input {i} of shape {Tensor.Format(input.Shape)}.");
                }
                if (input.GradFn is { } producer)
                {
                    if (grads.TryGetValue(producer, out var existing))
                    {
                        grads[producer] = Add(existing, gi);
                        existing.Dispose();
                    }
                    else
                    {
                        var alias = gi.Alias();
                        grads[producer] = alias;
                    }
                }
                else if (input.IsAlive)
                {
                    AccumulateLeaf(input, gi);
                }
            }
            foreach (var gi in inputGrads)
            {
                gi?.Dispose();
            }
            g.Dispose();
            if (!retainGraph)
            {
                node.Release();
            }
        }
        foreach (var left in grads.Values)
        {
            left.Dispose();
        }
    }

    private static Tensor Add(Tensor a, Tensor b)
    {
        var sum = a.Add(b);
        sum.Scope = null;
        return sum;
    }

    /// <summary>leaf.Grad += g (a fresh contiguous copy the first time: a gradient may be shared).</summary>
    private static void AccumulateLeaf(Tensor leaf, Tensor g)
    {
        if (leaf.Grad == null)
        {
            var copy = g.ContiguousCopy();
            leaf.Grad = copy;
        }
        else
        {
            var grad = leaf.Grad;
            grad.RecordUse(g);
            using var dense = g.IsContiguous ? g.Alias() : g.ContiguousCopy();
            Ops.Elementwise.ElementwiseOps.AddInPlace(grad.Stream, dense.DenseView, grad.DenseView, grad.Length);
        }
    }

    private static List<Node> TopologicalOrder(Node root)
    {
        var order = new List<Node>();
        var visited = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Node Node, int Next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (next < node.Inputs.Count)
            {
                stack.Push((node, next + 1));
                if (node.Inputs[next].GradFn is { } child && visited.Add(child))
                {
                    stack.Push((child, 0));
                }
            }
            else
            {
                order.Add(node); // post-order: inputs before the node
            }
        }
        return order;
    }
}

/// <summary>Restores gradient recording when disposed.</summary>
public readonly struct NoGradScope : IDisposable, IEquatable<NoGradScope>
{
    private readonly bool _active;

    internal NoGradScope(bool active) => _active = active;

    public void Dispose()
    {
        if (_active)
        {
            Autograd.EndNoGrad();
        }
    }

    public bool Equals(NoGradScope other) => _active == other._active;

    public override bool Equals(object? obj) => obj is NoGradScope other && Equals(other);

    public override int GetHashCode() => _active.GetHashCode();

    public static bool operator ==(NoGradScope left, NoGradScope right) => left.Equals(right);

    public static bool operator !=(NoGradScope left, NoGradScope right) => !left.Equals(right);
}
