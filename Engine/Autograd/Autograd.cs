namespace GanEngine.Tensors;

/// <summary>
/// Reverse-mode automatic differentiation, micrograd-style: each differentiable op calls
/// <see cref="Record(Tensor, string, Tensor[], Tensor[], BackwardFunction)"/> with its inputs, the tensors its backward needs, and a backward closure;
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
    public static Tensor Record(Tensor output, string name, Tensor[] inputs, Tensor[] save, BackwardFunction backward) =>
        Record(output, name, inputs, save, backward, null);

    /// <summary>
    /// <see cref="Record(Tensor, string, Tensor[], Tensor[], BackwardFunction)"/> with a second backward for
    /// when <paramref name="output"/> is the root of <see cref="Backward"/> (a loss): its gradient is 1 and is
    /// not filled into a device tensor (one launch less per backward). <paramref name="rootBackward"/> must
    /// return exactly what <paramref name="backward"/> returns for a gradient of ones.
    /// </summary>
    public static Tensor Record(Tensor output, string name, Tensor[] inputs, Tensor[] save, BackwardFunction backward, RootBackwardFunction? rootBackward)
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
        output.GradFn = new Node(name, inputs, saved, backward, rootBackward);
        return output;
    }

    /// <summary>
    /// Backpropagates from the scalar <paramref name="root"/> (gradient 1): every leaf reached that
    /// requires grad gets the gradient added to its <see cref="Tensor.Grad"/>. Each node's saved tensors
    /// and gradients are freed as soon as the node has run (unless <paramref name="retainGraph"/>).
    /// Everything is stream-ordered: no host synchronisation.
    /// </summary>
    /// <remarks>
    /// Leaf gradients: a leaf without a gradient takes the first contribution it receives as its
    /// <see cref="Tensor.Grad"/> when nothing else references that tensor (a freshly computed, contiguous
    /// gradient: no copy, no launch), else a contiguous copy of it. Later contributions, in this call or
    /// in a later one (PyTorch's accumulation), are added in place; the additions of one call are
    /// collected and made at its end, several leaves per launch (<see cref="Ops.Elementwise.ElementwiseOps.AddInPlaceMany"/>),
    /// in the order the contributions arrived, each element exactly as a separate addition would compute it.
    /// If a backward function throws, the additions not yet made are dropped with the call.
    /// </remarks>
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
        using var leaves = new LeafAccumulator();
        var rootNode = root.GradFn;
        // The root's gradient is 1: filled into a tensor, unless the root's op can do without one.
        bool implicitSeed = rootNode?.RootBackwardFn is not null;
        Tensor? seed = null;
        if (!implicitSeed)
        {
            seed = Tensor.Full(root.Accelerator, root.ShapeArray(), 1f, root.Stream);
            seed.Scope = null;
        }
        if (rootNode == null)
        {
            leaves.Accumulate(root, seed!, [seed], 0);
            seed!.Dispose();
            leaves.Flush();
            return;
        }
        var order = TopologicalOrder(rootNode);
        var grads = new Dictionary<Node, Tensor>(ReferenceEqualityComparer.Instance);
        if (seed is not null)
        {
            grads[rootNode] = seed;
        }
        try
        {
            for (int k = order.Count - 1; k >= 0; k--)
            {
                var node = order[k];
                Tensor? g = null;
                bool unit = implicitSeed && ReferenceEquals(node, rootNode);
                if (!unit && !grads.Remove(node, out g))
                {
                    continue; // no gradient reached it
                }
                if (node.IsReleased)
                {
                    g?.Dispose();
                    _ = node.Saved; // throws with the explanation
                }
                Tensor?[] inputGrads = [];
                try
                {
                    inputGrads = unit ? node.RootBackwardFn!(node) : node.BackwardFn(node, g!);
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
                            leaves.Accumulate(input, gi, inputGrads, i);
                        }
                    }
                }
                finally
                {
                    foreach (var gi in inputGrads)
                    {
                        gi?.Dispose();
                    }
                    g?.Dispose();
                }
                if (!retainGraph)
                {
                    node.Release();
                }
            }
            leaves.Flush();
        }
        finally
        {
            foreach (var left in grads.Values)
            {
                left.Dispose();
            }
        }
    }

    private static Tensor Add(Tensor a, Tensor b)
    {
        var sum = a.Add(b);
        sum.Scope = null;
        return sum;
    }

    /// <summary>
    /// The leaf side of one <see cref="Backward"/> call: a first gradient becomes the leaf's
    /// <see cref="Tensor.Grad"/> (taken over when nothing else references it, else copied); later ones are
    /// kept until <see cref="Flush"/>, which adds them in place, several leaves per launch, in arrival order.
    /// </summary>
    private sealed class LeafAccumulator : IDisposable
    {
        private readonly List<(Tensor Grad, Tensor Contribution)> _pending = [];

        /// <summary>leaf.Grad += g, where g is <paramref name="all"/>[<paramref name="index"/>] (the
        /// caller disposes its handle to g afterwards).</summary>
        public void Accumulate(Tensor leaf, Tensor g, Tensor?[] all, int index)
        {
            if (leaf.Grad == null)
            {
                leaf.Grad = CanTakeOver(g, all, index) ? g.Alias() : g.ContiguousCopy();
                return;
            }
            var grad = leaf.Grad;
            grad.RecordUse(g);
            // A contribution that is the gradient's own memory (never made by autograd; guard anyway) is copied first.
            var dense = g.IsContiguous && !ReferenceEquals(g.Storage, grad.Storage) ? g.Alias() : g.ContiguousCopy();
            _pending.Add((grad, dense));
        }

        /// <summary>Makes the pending additions: consecutive ones on one stream share a launch until a
        /// destination would repeat (so each leaf's contributions are added in arrival order).</summary>
        public void Flush()
        {
            int first = 0;
            while (first < _pending.Count)
            {
                var stream = _pending[first].Grad.Stream;
                int end = first;
                while (end < _pending.Count && end - first < Kernels.Elementwise.SlotStarts.Count
                    && ReferenceEquals(_pending[end].Grad.Stream, stream) && !Repeats(first, end))
                {
                    end++;
                }
                int count = end - first;
                var xs = new Kernels.ReadOnlyView<float>[count];
                var ys = new Kernels.ArrayView<float>[count];
                for (int k = 0; k < count; k++)
                {
                    var (grad, contribution) = _pending[first + k];
                    xs[k] = contribution.DenseView;
                    ys[k] = grad.DenseView;
                }
                Ops.Elementwise.ElementwiseOps.AddInPlaceMany(stream, xs, ys);
                for (int k = first; k < end; k++)
                {
                    _pending[k].Contribution.Dispose();
                }
                first = end;
            }
            _pending.Clear();
        }

        /// <summary>Drops what was not flushed (a backward function threw).</summary>
        public void Dispose()
        {
            foreach (var (_, contribution) in _pending)
            {
                contribution.Dispose();
            }
            _pending.Clear();
        }

        private bool Repeats(int first, int end)
        {
            for (int k = first; k < end; k++)
            {
                if (ReferenceEquals(_pending[k].Grad, _pending[end].Grad))
                {
                    return true;
                }
            }
            return false;
        }

        // A gradient can become the leaf's own when this handle is the only reference to its memory, it is
        // exactly that memory (dense, whole storage), and the backward did not return it for another input too.
        private static bool CanTakeOver(Tensor g, Tensor?[] all, int index)
        {
            if (g.Storage.References != 1 || g.Offset != 0 || g.Length != g.Storage.Length || !g.IsContiguous)
            {
                return false;
            }
            for (int j = 0; j < all.Length; j++)
            {
                if (j != index && ReferenceEquals(all[j], g))
                {
                    return false;
                }
            }
            return true;
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
