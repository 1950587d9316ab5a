using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GanEngine.Kernels.Compiler.Analysis
{
    /// <summary>Checks a kernel's signature, validates it and its helpers, and runs the uniformity analysis.</summary>
    internal static class KernelAnalyzer
    {
        public static KernelContext Analyze(MethodDeclarationSyntax declaration, IMethodSymbol method, SemanticModel model)
        {
            var kernel = new FunctionInfo(method, declaration, model, isKernel: true) { CName = "" };
            var ctx = new KernelContext(model.Compilation, kernel);
            ctx.Functions[method.OriginalDefinition] = kernel;
            CheckSignature(ctx, declaration, method);
            ReadLaunchBounds(ctx, method);

            // Validate the kernel and, transitively, every helper it calls.
            var queue = new Queue<FunctionInfo>();
            queue.Enqueue(kernel);
            var direct = new Dictionary<FunctionInfo, BodyValidator>();
            while (queue.Count > 0)
            {
                var f = queue.Dequeue();
                var validator = new BodyValidator(ctx, f);
                validator.Run();
                direct[f] = validator;
                ctx.Features |= validator.Features;
                foreach (var callee in f.Callees)
                {
                    if (ctx.Functions.ContainsKey(callee))
                    {
                        continue;
                    }
                    var syntax = callee.DeclaringSyntaxReferences[0].GetSyntax();
                    var info = new FunctionInfo(callee, syntax, ctx.ModelFor(syntax), isKernel: false);
                    ctx.Functions[callee] = info;
                    CheckHelperSignature(ctx, info);
                    queue.Enqueue(info);
                }
            }

            // Transitive flags.
            foreach (var f in direct.Keys)
            {
                f.HasCollectives = direct[f].DirectCollective;
                f.NeedsWarpScratch = direct[f].DirectWarpScratch;
                f.ReadsThreadState = direct[f].DirectThreadState;
            }
            bool changed = true;
            while (changed)
            {
                changed = false;
                foreach (var f in direct.Keys)
                {
                    foreach (var c in f.Callees.Select(ctx.FunctionOf).Where(c => c != null))
                    {
                        if (c!.HasCollectives && !f.HasCollectives) { f.HasCollectives = true; changed = true; }
                        if (c.NeedsWarpScratch && !f.NeedsWarpScratch) { f.NeedsWarpScratch = true; changed = true; }
                        if (c.ReadsThreadState && !f.ReadsThreadState) { f.ReadsThreadState = true; changed = true; }
                    }
                }
            }

            OrderHelpers(ctx);
            NameHelpers(ctx);

            foreach (var f in ctx.Helpers.Where(h => h.HasCollectives))
            {
                if (f.Symbol.MethodKind == MethodKind.LocalFunction)
                {
                    ctx.Report(Diagnostics.LocalFunction, ((LocalFunctionStatementSyntax)f.Declaration).Identifier.GetLocation(),
                        $"Local function '{f.Symbol.Name}' contains a collective; local functions cannot yield on the CPU (hint: make it a static helper method of the class)");
                }
                foreach (var p in f.Symbol.Parameters.Where(p => p.RefKind != RefKind.None))
                {
                    ctx.Report(Diagnostics.CollectiveHelperRef, p.Locations[0],
                        $"Helper '{f.Symbol.Name}' contains a collective and has {p.RefKind.ToString().ToLowerInvariant()} parameter '{p.Name}'; such helpers run as CPU iterators (hint: return a value or a struct instead)");
                }
            }

            foreach (var f in direct.Keys)
            {
                FindCollectiveStatements(ctx, f);
            }
            // Callers before callees, so that a helper parameter is non-uniform when any call passes a non-uniform value.
            var seeds = new Dictionary<FunctionInfo, HashSet<ISymbol>>();
            var order = new List<FunctionInfo> { ctx.Kernel };
            order.AddRange(Enumerable.Reverse(ctx.Helpers));
            foreach (var f in order)
            {
                var uniformity = new Uniformity(ctx, f, seeds.TryGetValue(f, out var seed) ? seed : null);
                uniformity.Check(reportCollectives: f.HasCollectives);
                uniformity.PropagateToCallees(seeds);
            }
            return ctx;
        }

        private static void CheckSignature(KernelContext ctx, MethodDeclarationSyntax declaration, IMethodSymbol method)
        {
            string name = method.Name;
            if (!method.IsStatic)
            {
                ctx.Report(Diagnostics.KernelNotStatic, declaration.Identifier.GetLocation(), $"Kernel '{name}' is not static (hint: declare it 'static void')");
            }
            if (!method.ReturnsVoid)
            {
                ctx.Report(Diagnostics.KernelNotVoid, declaration.ReturnType.GetLocation(), $"Kernel '{name}' returns a value; kernels return void (hint: write results to an ArrayView)");
            }
            if (method.IsGenericMethod)
            {
                ctx.Report(Diagnostics.Generic, declaration.Identifier.GetLocation(), $"Kernel '{name}' is generic (hint: write one kernel per element type)");
            }
            var type = method.ContainingType;
            bool partialStatic = type.IsStatic && type.ContainingType == null &&
                type.DeclaringSyntaxReferences.All(r => r.GetSyntax() is ClassDeclarationSyntax c && c.Modifiers.Any(SyntaxKind.PartialKeyword));
            if (!partialStatic || type.IsGenericType)
            {
                ctx.Report(Diagnostics.ClassNotStaticPartial, declaration.Identifier.GetLocation(),
                    $"Kernel '{name}' is declared in '{type.Name}', which is not a top-level non-generic static partial class (hint: declare 'static partial class {type.Name}' in a namespace)");
            }
            if (type.GetMembers(name).OfType<IMethodSymbol>().Count() > 1)
            {
                ctx.Report(Diagnostics.OverloadedKernel, declaration.Identifier.GetLocation(), $"Kernel '{name}' is overloaded; kernel names must be unique in their class (hint: rename one overload)");
            }
            foreach (var p in method.Parameters)
            {
                var location = p.Locations[0];
                if (p.RefKind != RefKind.None)
                {
                    ctx.Report(Diagnostics.ParameterModifier, location, $"Kernel '{name}' parameter '{p.Name}' is passed by {p.RefKind.ToString().ToLowerInvariant()}; kernel parameters are by value (hint: use an ArrayView for outputs)");
                    continue;
                }
                bool isSpec = BodyValidator.IsSpecialization(p);
                if (isSpec && p.Type.SpecialType != SpecialType.System_Int32)
                {
                    ctx.Report(Diagnostics.Specialization, location, $"Kernel '{name}' specialization parameter '{p.Name}' is not int (hint: specializations are int constants)");
                    continue;
                }
                var view = Intrinsics.GetViewKind(p.Type);
                bool ok = view is ViewKind.Array or ViewKind.ReadOnly
                    ? IsElementType(Intrinsics.ElementType(p.Type))
                    : view == ViewKind.None && (Intrinsics.IsScalar(p.Type) || Intrinsics.IsPlainStruct(p.Type));
                if (!ok)
                {
                    ctx.Report(Diagnostics.ParameterType, location,
                        $"Kernel '{name}' parameter '{p.Name}' has type '{p.Type.ToDisplayString()}', which kernels cannot take (hint: use ArrayView<T>, ReadOnlyView<T>, int/uint/long/ulong/float/double or a plain struct of them)");
                }
            }
        }

        private static bool IsElementType(ITypeSymbol t) => Intrinsics.IsScalar(t) || Intrinsics.IsPlainStruct(t);

        private static void CheckHelperSignature(KernelContext ctx, FunctionInfo f)
        {
            var m = f.Symbol;
            if (m.IsGenericMethod)
            {
                ctx.Report(Diagnostics.Generic, m.Locations[0], $"Helper '{m.Name}' is generic (hint: write one helper per element type)");
            }
            foreach (var p in m.Parameters)
            {
                var view = Intrinsics.GetViewKind(p.Type);
                bool ok = view is ViewKind.Array or ViewKind.ReadOnly or ViewKind.Shared
                    ? IsElementType(Intrinsics.ElementType(p.Type))
                    : view == ViewKind.None && (Intrinsics.IsScalar(p.Type) || Intrinsics.IsPlainStruct(p.Type) || p.Type.SpecialType == SpecialType.System_Boolean);
                if (!ok)
                {
                    ctx.Report(Diagnostics.ParameterType, p.Locations[0], $"Helper '{m.Name}' parameter '{p.Name}' has type '{p.Type.ToDisplayString()}', which has no GPU mapping (hint: use views, numbers, bool and plain structs)");
                }
                else if (p.RefKind != RefKind.None && !f.HasCollectives)
                {
                    ctx.Report(Diagnostics.ParameterModifier, p.Locations[0], $"Helper '{m.Name}' parameter '{p.Name}' is passed by {p.RefKind.ToString().ToLowerInvariant()} (hint: return a value or a struct)");
                }
            }
            var rt = m.ReturnType;
            if (!m.ReturnsVoid && !(Intrinsics.IsScalar(rt) || Intrinsics.IsPlainStruct(rt) || rt.SpecialType == SpecialType.System_Boolean))
            {
                ctx.Report(Diagnostics.ParameterType, m.Locations[0], $"Helper '{m.Name}' returns '{rt.ToDisplayString()}', which has no GPU mapping (hint: return numbers, bool or plain structs)");
            }
        }

        private static void ReadLaunchBounds(KernelContext ctx, IMethodSymbol method)
        {
            foreach (var a in method.GetAttributes())
            {
                if (Intrinsics.FullName(a.AttributeClass) == Intrinsics.Ns + ".LaunchBoundsAttribute" && a.ConstructorArguments.Length >= 1)
                {
                    ctx.MaxThreads = a.ConstructorArguments[0].Value is int max ? max : 0;
                    ctx.MinBlocks = a.ConstructorArguments.Length > 1 && a.ConstructorArguments[1].Value is int min ? min : 0;
                }
            }
        }

        private static void OrderHelpers(KernelContext ctx)
        {
            var state = new Dictionary<FunctionInfo, int>();
            void Visit(FunctionInfo f, List<FunctionInfo> stack)
            {
                state[f] = 1;
                stack.Add(f);
                foreach (var c in f.Callees.Select(ctx.FunctionOf).Where(c => c != null).Distinct())
                {
                    if (!state.TryGetValue(c!, out int s))
                    {
                        Visit(c!, stack);
                    }
                    else if (s == 1)
                    {
                        var loc = c!.Symbol.Locations[0];
                        ctx.Report(Diagnostics.Recursion, loc, $"'{c.Symbol.Name}' is (mutually) recursive; GPU code cannot recurse (hint: rewrite it as a loop)");
                    }
                }
                stack.RemoveAt(stack.Count - 1);
                state[f] = 2;
                if (!f.IsKernel)
                {
                    ctx.Helpers.Add(f);
                }
            }
            Visit(ctx.Kernel, new List<FunctionInfo>());
        }

        private static void NameHelpers(KernelContext ctx)
        {
            var used = new HashSet<string>();
            foreach (var h in ctx.Helpers)
            {
                string baseName = "ge_" + ctx.Kernel.Symbol.ContainingType.Name + "_" +
                    (h.Symbol.MethodKind == MethodKind.LocalFunction ? ((IMethodSymbol)h.Symbol.ContainingSymbol).Name + "_" : "") + h.Symbol.Name;
                string name = baseName;
                for (int i = 1; !used.Add(name); i++)
                {
                    name = baseName + "_" + i;
                }
                h.CName = name;
            }
        }

        /// <summary>Collectives must be whole statements: <c>C();</c>, <c>x = C();</c>, <c>x op= C();</c>, <c>var x = C();</c>.</summary>
        private static void FindCollectiveStatements(KernelContext ctx, FunctionInfo f)
        {
            var body = f.BodyNode;
            if (body == null)
            {
                return;
            }
            foreach (var inv in body.DescendantNodes(n => n is not LocalFunctionStatementSyntax && n is not AnonymousFunctionExpressionSyntax).OfType<InvocationExpressionSyntax>())
            {
                if (f.Model.GetSymbolInfo(inv).Symbol is not IMethodSymbol m || !ctx.IsCollectiveCall(m))
                {
                    continue;
                }
                StatementSyntax? statement = inv.Parent switch
                {
                    ExpressionStatementSyntax es => es,
                    AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax es2 } a when a.Right == inv => es2,
                    EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Parent: LocalDeclarationStatementSyntax ld } } } => ld,
                    _ => null,
                };
                if (statement == null || statement.Parent is not (BlockSyntax or SwitchSectionSyntax))
                {
                    ctx.Report(Diagnostics.CollectivePosition, inv.GetLocation(),
                        $"'{m.Name}' is a collective used inside an expression; collectives must be whole statements (hint: write 'var x = {m.ContainingType.Name}.{m.Name}(...);' in a block, then use x)");
                    continue;
                }
                ctx.CollectiveStatements[statement] = inv;
            }
        }
    }
}
