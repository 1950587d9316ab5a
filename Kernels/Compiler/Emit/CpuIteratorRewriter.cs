using System.Collections.Generic;
using System.Linq;
using GanEngine.Kernels.Compiler.Analysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GanEngine.Kernels.Compiler.Emit
{
    /// <summary>
    /// Rewrites a kernel (or a helper) with collectives into a CPU iterator: each collective statement
    /// arrives (operands hoisted into temps, evaluated once), yields, then runs the original statement;
    /// <c>return</c> becomes <c>yield break</c>; stackalloc tiles become arrays; helpers with collectives
    /// are driven as nested iterators with their result in a box.
    /// </summary>
    internal sealed class CpuIteratorRewriter : CSharpSyntaxRewriter
    {
        private const string Cpu = "global::GanEngine.Kernels.Cpu.";

        private readonly KernelContext _ctx;
        private readonly FunctionInfo _fn;
        private readonly SemanticModel _model;
        private readonly bool _hasResultBox;
        private int _temp;

        public CpuIteratorRewriter(KernelContext ctx, FunctionInfo fn)
        {
            _ctx = ctx;
            _fn = fn;
            _model = fn.Model;
            _hasResultBox = !fn.IsKernel && !fn.Symbol.ReturnsVoid;
        }

        public static string IteratorName(KernelContext ctx, FunctionInfo f) =>
            f.IsKernel ? ctx.KernelName + "__CpuSync" : ctx.KernelName + "__" + f.Symbol.Name + "__CpuSync";

        public static string BoxName(KernelContext ctx) => ctx.KernelName + "__Box";

        /// <summary>The iterator method's full text.</summary>
        public string Rewrite()
        {
            BlockSyntax body = _fn.Body ?? SyntaxFactory.Block(
                _fn.Symbol.ReturnsVoid
                    ? (StatementSyntax)SyntaxFactory.ExpressionStatement(_fn.ExpressionBody!.Expression)
                    : SyntaxFactory.ReturnStatement(_fn.ExpressionBody!.Expression));
            var rewritten = (BlockSyntax)Visit(body);
            string parameters = string.Join(", ", _fn.Symbol.Parameters.Select(p =>
                p.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + " " + SafeName(p.Name)));
            if (_hasResultBox)
            {
                parameters += (parameters.Length > 0 ? ", " : "") + BoxName(_ctx) + "<" +
                    _fn.Symbol.ReturnType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + "> __ge_result";
            }
            return "    private static global::System.Collections.Generic.IEnumerable<int> " + IteratorName(_ctx, _fn) + "(" + parameters + ")\n    " +
                rewritten.ToFullString().Trim() + "\n";
        }

        private static string SafeName(string name) => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        private bool IsCollective(StatementSyntax s) => _ctx.CollectiveStatements.ContainsKey(s);

        public override SyntaxNode? VisitBlock(BlockSyntax node) =>
            node.WithStatements(SyntaxFactory.List(Splice(node.Statements)));

        public override SyntaxNode? VisitSwitchSection(SwitchSectionSyntax node) =>
            node.WithStatements(SyntaxFactory.List(Splice(node.Statements)));

        private IEnumerable<StatementSyntax> Splice(SyntaxList<StatementSyntax> statements)
        {
            foreach (var s in statements)
            {
                if (IsCollective(s))
                {
                    foreach (var x in Expand(s))
                    {
                        yield return x;
                    }
                }
                else
                {
                    yield return (StatementSyntax)Visit(s)!;
                }
            }
        }

        public override SyntaxNode? VisitLocalFunctionStatement(LocalFunctionStatementSyntax node) => node;

        public override SyntaxNode? VisitSimpleLambdaExpression(SimpleLambdaExpressionSyntax node) => node;

        public override SyntaxNode? VisitParenthesizedLambdaExpression(ParenthesizedLambdaExpressionSyntax node) => node;

        public override SyntaxNode? VisitReturnStatement(ReturnStatementSyntax node)
        {
            if (node.Expression == null || !_hasResultBox)
            {
                return SyntaxFactory.ParseStatement("yield break;").WithTriviaFrom(node);
            }
            return SyntaxFactory.ParseStatement("{ if (__ge_result != null) { __ge_result.Value = " + node.Expression.ToString() + "; } yield break; }").WithTriviaFrom(node);
        }

        public override SyntaxNode? VisitLocalDeclarationStatement(LocalDeclarationStatementSyntax node)
        {
            var v = node.Declaration.Variables;
            if (v.Count == 1 && v[0].Initializer?.Value is StackAllocArrayCreationExpressionSyntax sa && sa.Type is ArrayTypeSyntax at &&
                _model.GetDeclaredSymbol(v[0]) is ILocalSymbol local && Intrinsics.GetViewKind(local.Type) == ViewKind.Span)
            {
                string elem = Intrinsics.ElementType(local.Type).ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                return SyntaxFactory.ParseStatement(elem + "[] " + v[0].Identifier.Text + " = new " + elem + "[" + at.RankSpecifiers[0].Sizes[0].ToString() + "];")
                    .WithTriviaFrom(node);
            }
            return base.VisitLocalDeclarationStatement(node);
        }

        private IEnumerable<StatementSyntax> Expand(StatementSyntax statement)
        {
            var call = _ctx.CollectiveStatements[statement];
            var method = (IMethodSymbol)_model.GetSymbolInfo(call).Symbol!;
            var text = new List<string>();
            // Hoist the operands so that they are evaluated once.
            var newArgs = new List<ArgumentSyntax>();
            foreach (var (arg, i) in call.ArgumentList.Arguments.Select((a, i) => (a, i)))
            {
                var p = method.Parameters[System.Math.Min(i, method.Parameters.Length - 1)];
                if (_model.GetConstantValue(arg.Expression).HasValue || arg.Expression is IdentifierNameSyntax)
                {
                    newArgs.Add(arg);
                    continue;
                }
                string temp = "__ge_t" + _temp++;
                text.Add(p.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + " " + temp + " = " + arg.Expression.ToString() + ";");
                newArgs.Add(arg.WithExpression(SyntaxFactory.IdentifierName(temp)));
            }
            var newCall = call.WithArgumentList(call.ArgumentList.WithArguments(SyntaxFactory.SeparatedList(newArgs)));
            var helper = _ctx.FunctionOf(method);
            if (helper != null && !helper.IsKernel)
            {
                string y = "__ge_y" + _temp++;
                string callArgs = string.Join(", ", newArgs.Select(a => a.ToString()));
                if (method.ReturnsVoid)
                {
                    text.Add("foreach (var " + y + " in " + IteratorName(_ctx, helper) + "(" + callArgs + ")) { yield return " + y + "; }");
                }
                else
                {
                    string box = "__ge_b" + _temp++;
                    string rt = method.ReturnType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                    text.Add("var " + box + " = new " + BoxName(_ctx) + "<" + rt + ">();");
                    text.Add("foreach (var " + y + " in " + IteratorName(_ctx, helper) + "(" + callArgs + (callArgs.Length > 0 ? ", " : "") + box + ")) { yield return " + y + "; }");
                    if (statement is not ExpressionStatementSyntax { Expression: InvocationExpressionSyntax })
                    {
                        text.Add(statement.ReplaceNode(call, SyntaxFactory.ParseExpression(box + ".Value")).ToString().Trim());
                    }
                }
            }
            else
            {
                text.Add(Cpu + "CpuThread.Current.Phase = " + Cpu + "CollectivePhase.Arrive;");
                text.Add((method.ReturnsVoid ? "" : "_ = ") + newCall.ToString() + ";");
                text.Add("yield return 0;");
                text.Add(statement.ReplaceNode(call, newCall).ToString().Trim());
            }
            var leading = statement.GetLeadingTrivia();
            bool first = true;
            foreach (var t in text)
            {
                var parsed = SyntaxFactory.ParseStatement(t);
                if (first)
                {
                    parsed = parsed.WithLeadingTrivia(leading);
                    first = false;
                }
                else
                {
                    parsed = parsed.WithLeadingTrivia(leading.Where(x => x.IsKind(SyntaxKind.WhitespaceTrivia)));
                }
                yield return parsed.WithTrailingTrivia(SyntaxFactory.EndOfLine("\n"));
            }
        }
    }
}
