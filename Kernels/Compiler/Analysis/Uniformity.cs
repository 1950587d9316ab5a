using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GanEngine.Kernels.Compiler.Analysis
{
    /// <summary>
    /// Block-uniformity of control flow around collectives (flow-insensitive, conservative).
    /// Non-uniform sources: ThreadIdx, Warp.LaneId/WarpId, loads with a non-uniform index, atomics,
    /// warp collectives and mma results, helpers that read thread state, locals assigned from any of
    /// these or under non-uniform control, and helper parameters that some call passes a non-uniform value.
    /// </summary>
    internal sealed class Uniformity
    {
        private readonly KernelContext _ctx;
        private readonly FunctionInfo _f;
        private readonly SemanticModel _model;
        private readonly HashSet<ISymbol> _nonUniform = new HashSet<ISymbol>(SymbolEqualityComparer.Default);

        public Uniformity(KernelContext ctx, FunctionInfo f, HashSet<ISymbol>? nonUniformParameters = null)
        {
            _ctx = ctx;
            _f = f;
            _model = f.Model;
            if (nonUniformParameters != null)
            {
                _nonUniform.UnionWith(nonUniformParameters);
            }
        }

        /// <summary>Marks helper parameters that receive a non-uniform argument from this function.</summary>
        public void PropagateToCallees(Dictionary<FunctionInfo, HashSet<ISymbol>> seeds)
        {
            if (_f.BodyNode == null)
            {
                return;
            }
            foreach (var inv in BodyNodes.OfType<InvocationExpressionSyntax>())
            {
                if (_model.GetSymbolInfo(inv).Symbol is not IMethodSymbol m || _ctx.FunctionOf(m) is not { IsKernel: false } callee)
                {
                    continue;
                }
                var args = inv.ArgumentList.Arguments;
                for (int i = 0; i < args.Count && i < callee.Symbol.Parameters.Length; i++)
                {
                    if (IsNonUniform(args[i].Expression) || NonUniformCondition(inv) != null)
                    {
                        if (!seeds.TryGetValue(callee, out var set))
                        {
                            seeds[callee] = set = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
                        }
                        set.Add(callee.Symbol.Parameters[i]);
                    }
                }
            }
        }

        private IEnumerable<SyntaxNode> BodyNodes =>
            _f.BodyNode!.DescendantNodes(n => n is not LocalFunctionStatementSyntax);

        public void Check(bool reportCollectives = true)
        {
            if (_f.BodyNode == null)
            {
                return;
            }
            // Fixed point over assignments.
            bool changed = true;
            while (changed)
            {
                changed = false;
                foreach (var node in BodyNodes)
                {
                    ISymbol? target = null;
                    SyntaxNode? value = null;
                    switch (node)
                    {
                        case VariableDeclaratorSyntax d:
                            target = _model.GetDeclaredSymbol(d);
                            value = d.Initializer?.Value;
                            break;
                        case AssignmentExpressionSyntax a:
                            target = RootSymbol(a.Left);
                            value = a.Right;
                            break;
                        case PostfixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PostIncrementExpression) || p.IsKind(SyntaxKind.PostDecrementExpression):
                            target = RootSymbol(p.Operand);
                            break;
                        case PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PreIncrementExpression) || p.IsKind(SyntaxKind.PreDecrementExpression):
                            target = RootSymbol(p.Operand);
                            break;
                    }
                    if (target is not (ILocalSymbol or IParameterSymbol) || _nonUniform.Contains(target))
                    {
                        continue;
                    }
                    if (target is ILocalSymbol local && Intrinsics.GetViewKind(local.Type) is ViewKind.Shared or ViewKind.Span)
                    {
                        continue; // the view itself is uniform; its elements are judged at the load
                    }
                    if ((value != null && IsNonUniform(value)) || NonUniformCondition(node) != null)
                    {
                        _nonUniform.Add(target);
                        changed = true;
                    }
                }
            }

            if (!reportCollectives)
            {
                return;
            }
            var exits = BodyNodes.OfType<StatementSyntax>()
                .Where(s => s is ReturnStatementSyntax or BreakStatementSyntax or ContinueStatementSyntax)
                .Select(s => (stmt: s, cond: NonUniformCondition(s)))
                .Where(e => e.cond != null)
                .ToList();

            foreach (var pair in _ctx.CollectiveStatements.Where(p => p.Key.SyntaxTree == _f.Declaration.SyntaxTree && _f.BodyNode.Span.Contains(p.Key.Span)))
            {
                var statement = pair.Key;
                if (!ReferenceEquals(EnclosingFunction(statement), _f.Declaration))
                {
                    continue;
                }
                string name = (_model.GetSymbolInfo(pair.Value).Symbol as IMethodSymbol)?.Name ?? "collective";
                var cond = NonUniformCondition(statement);
                if (cond != null)
                {
                    Report(pair.Value, name, $"is reached under a condition that differs between threads (line {Line(cond)})");
                    continue;
                }
                foreach (var (exit, exitCond) in exits)
                {
                    bool before = exit.SpanStart < statement.SpanStart;
                    var exitLoop = exit is ReturnStatementSyntax ? null : TargetLoop(exit);
                    bool sameLoop = exit is ReturnStatementSyntax
                        ? statement.Ancestors().Any(a => IsLoop(a) && a.Span.Contains(exit.Span))
                        : exitLoop != null && exitLoop.Span.Contains(statement.Span);
                    bool matters = exit is ReturnStatementSyntax ? before || sameLoop : sameLoop;
                    if (matters)
                    {
                        string kw = exit is ReturnStatementSyntax ? "return" : exit is BreakStatementSyntax ? "break" : "continue";
                        Report(pair.Value, name, $"can be skipped by some threads: a non-uniform '{kw}' at line {Line(exit)} (condition at line {Line(exitCond!)})");
                        break;
                    }
                }
            }
        }

        private void Report(InvocationExpressionSyntax call, string name, string why) =>
            _ctx.Report(Diagnostics.NonUniformCollective, call.GetLocation(),
                $"{(_f.IsKernel ? "Kernel" : "Helper")} '{_f.Symbol.Name}' calls collective '{name}', which {why}; collectives must be reached by every thread of the block (hint: compute a flag, keep all threads in the loop, and guard only the work, not the collective)");

        private static int Line(SyntaxNode node) => node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;

        private SyntaxNode? EnclosingFunction(SyntaxNode node) =>
            node.Ancestors().FirstOrDefault(a => a is LocalFunctionStatementSyntax || a == _f.Declaration);

        private static bool IsLoop(SyntaxNode n) => n is ForStatementSyntax or WhileStatementSyntax or DoStatementSyntax or ForEachStatementSyntax;

        private static SyntaxNode? TargetLoop(StatementSyntax exit)
        {
            foreach (var a in exit.Ancestors())
            {
                if (IsLoop(a))
                {
                    return a;
                }
                if (a is SwitchStatementSyntax && exit is BreakStatementSyntax)
                {
                    return null; // leaves the switch only
                }
                if (a is LocalFunctionStatementSyntax or MemberDeclarationSyntax)
                {
                    return null;
                }
            }
            return null;
        }

        private ISymbol? RootSymbol(ExpressionSyntax e)
        {
            while (true)
            {
                switch (e)
                {
                    case MemberAccessExpressionSyntax ma when _model.GetSymbolInfo(ma).Symbol is IFieldSymbol { IsStatic: false }:
                        e = ma.Expression;
                        continue;
                    case ElementAccessExpressionSyntax ea when Intrinsics.GetViewKind(_model.GetTypeInfo(ea.Expression).Type) == ViewKind.Span:
                        e = ea.Expression;
                        continue;
                    case ParenthesizedExpressionSyntax p:
                        e = p.Expression;
                        continue;
                }
                return _model.GetSymbolInfo(e).Symbol;
            }
        }

        /// <summary>The innermost enclosing condition (or loop) that is not uniform, or null.</summary>
        private SyntaxNode? NonUniformCondition(SyntaxNode node)
        {
            SyntaxNode child = node;
            foreach (var a in node.Ancestors())
            {
                if (a == _f.Declaration || a is LocalFunctionStatementSyntax)
                {
                    break;
                }
                switch (a)
                {
                    case IfStatementSyntax s when child != s.Condition && IsNonUniform(s.Condition):
                        return s.Condition;
                    case WhileStatementSyntax s when IsNonUniform(s.Condition):
                        return s.Condition;
                    case DoStatementSyntax s when IsNonUniform(s.Condition):
                        return s.Condition;
                    case ForStatementSyntax s when child != s.Declaration && !s.Initializers.Contains(child) && s.Condition != null && IsNonUniform(s.Condition):
                        return s.Condition;
                    case SwitchStatementSyntax s when child != s.Expression && IsNonUniform(s.Expression):
                        return s.Expression;
                    case ConditionalExpressionSyntax c when child != c.Condition && IsNonUniform(c.Condition):
                        return c.Condition;
                    case BinaryExpressionSyntax b when (b.IsKind(SyntaxKind.LogicalAndExpression) || b.IsKind(SyntaxKind.LogicalOrExpression)) && child == b.Right && IsNonUniform(b.Left):
                        return b.Left;
                }
                // Loops that some threads leave early (non-uniform break/return) make their bodies non-uniform.
                if (IsLoop(a) && LoopHasNonUniformExit(a))
                {
                    return a;
                }
                child = a;
            }
            return null;
        }

        private readonly Dictionary<SyntaxNode, bool> _loopExit = new Dictionary<SyntaxNode, bool>();

        private bool LoopHasNonUniformExit(SyntaxNode loop)
        {
            if (_loopExit.TryGetValue(loop, out bool r))
            {
                return r;
            }
            _loopExit[loop] = false; // guard against re-entry
            r = loop.DescendantNodes(n => n is not LocalFunctionStatementSyntax).OfType<StatementSyntax>()
                .Where(s => s is BreakStatementSyntax or ContinueStatementSyntax or ReturnStatementSyntax)
                .Where(s => s is ReturnStatementSyntax || TargetLoop(s) == loop)
                .Any(s => NonUniformConditionWithin(s, loop));
            _loopExit[loop] = r;
            return r;
        }

        private bool NonUniformConditionWithin(SyntaxNode node, SyntaxNode loop)
        {
            SyntaxNode child = node;
            foreach (var a in node.Ancestors())
            {
                if (a == loop)
                {
                    return false;
                }
                switch (a)
                {
                    case IfStatementSyntax s when child != s.Condition && IsNonUniform(s.Condition):
                    case WhileStatementSyntax w when IsNonUniform(w.Condition):
                    case DoStatementSyntax d when IsNonUniform(d.Condition):
                    case ForStatementSyntax f when f.Condition != null && IsNonUniform(f.Condition):
                    case SwitchStatementSyntax sw when child != sw.Expression && IsNonUniform(sw.Expression):
                        return true;
                }
                child = a;
            }
            return false;
        }

        public bool IsNonUniform(SyntaxNode e)
        {
            foreach (var n in e.DescendantNodesAndSelf(x => x is not AnonymousFunctionExpressionSyntax))
            {
                switch (n)
                {
                    case IdentifierNameSyntax id:
                    {
                        var s = _model.GetSymbolInfo(id).Symbol;
                        if (s != null && _nonUniform.Contains(s))
                        {
                            return true;
                        }
                        if (s is IPropertySymbol p)
                        {
                            string t = Intrinsics.FullName(p.ContainingType);
                            if (t == Intrinsics.Ns + ".ThreadIdx" || (t == Intrinsics.Ns + ".Warp" && p.Name is "LaneId" or "WarpId"))
                            {
                                return true;
                            }
                        }
                        break;
                    }
                    case InvocationExpressionSyntax inv when _model.GetSymbolInfo(inv).Symbol is IMethodSymbol m:
                    {
                        var kind = Intrinsics.Classify(m);
                        if (kind is IntrinsicKind.Atomic or IntrinsicKind.WarpCollective or IntrinsicKind.MmaCollective)
                        {
                            return true;
                        }
                        var helper = _ctx.FunctionOf(m);
                        if (helper != null && helper.ReadsThreadState)
                        {
                            return true;
                        }
                        break;
                    }
                }
            }
            return false;
        }
    }
}
