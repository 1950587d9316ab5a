using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GanEngine.Kernels.Compiler.Analysis
{
    /// <summary>
    /// Walks one function body and rejects everything outside the kernel language (GEK0xx errors),
    /// recording helper calls and the features the function uses directly.
    /// </summary>
    internal sealed class BodyValidator : CSharpSyntaxWalker
    {
        private readonly KernelContext _ctx;
        private readonly FunctionInfo _function;
        private readonly SemanticModel _model;

        public BodyValidator(KernelContext ctx, FunctionInfo function)
        {
            _ctx = ctx;
            _function = function;
            _model = function.Model;
        }

        public bool DirectCollective { get; private set; }
        public bool DirectWarpScratch { get; private set; }
        public bool DirectThreadState { get; private set; }
        public int Features { get; private set; }

        private string Who => (_function.IsKernel ? "Kernel '" : "Helper '") + _function.Symbol.Name + "'";

        private void Report(DiagnosticDescriptor d, SyntaxNode node, string what, string hint) =>
            _ctx.Report(d, node.GetLocation(), $"{Who} {what} (hint: {hint})");

        public void Run()
        {
            var body = _function.BodyNode;
            if (body != null)
            {
                Visit(body);
            }
        }

        public override void VisitLocalFunctionStatement(LocalFunctionStatementSyntax node)
        {
            // Validated as its own function when called; not part of this body.
        }

        public override void VisitSimpleLambdaExpression(SimpleLambdaExpressionSyntax node) =>
            Report(Diagnostics.Delegate, node, "uses a lambda expression; kernels may not create delegates", "write a static helper method");

        public override void VisitParenthesizedLambdaExpression(ParenthesizedLambdaExpressionSyntax node) =>
            Report(Diagnostics.Delegate, node, "uses a lambda expression; kernels may not create delegates", "write a static helper method");

        public override void VisitAnonymousMethodExpression(AnonymousMethodExpressionSyntax node) =>
            Report(Diagnostics.Delegate, node, "uses an anonymous method; kernels may not create delegates", "write a static helper method");

        public override void VisitObjectCreationExpression(ObjectCreationExpressionSyntax node)
        {
            CheckCreation(node, _model.GetTypeInfo(node).Type, node.ArgumentList);
            base.VisitObjectCreationExpression(node);
        }

        public override void VisitImplicitObjectCreationExpression(ImplicitObjectCreationExpressionSyntax node)
        {
            CheckCreation(node, _model.GetTypeInfo(node).Type, node.ArgumentList);
            base.VisitImplicitObjectCreationExpression(node);
        }

        private void CheckCreation(SyntaxNode node, ITypeSymbol? type, ArgumentListSyntax? args)
        {
            if (type == null || !type.IsValueType)
            {
                Report(Diagnostics.ReferenceType, node, $"creates an object of reference type '{type?.Name}'; kernels cannot allocate managed objects", "use plain structs, views and stackalloc tiles");
            }
            else if (!Intrinsics.IsPlainStruct(type))
            {
                Report(Diagnostics.ParameterType, node, $"creates a '{type.Name}', which is not a plain struct of numeric fields", "use plain structs of int/uint/long/ulong/float/double fields");
            }
            else if (args != null && args.Arguments.Count > 0)
            {
                Report(Diagnostics.Unsupported, node, $"calls a constructor of '{type.Name}'; struct constructors are not translated", "use an object initializer: new S { X = ... }");
            }
        }

        public override void VisitArrayCreationExpression(ArrayCreationExpressionSyntax node) =>
            Report(Diagnostics.ReferenceType, node, "creates a managed array", "use stackalloc for a register tile or Shared.Allocate for shared memory");

        public override void VisitImplicitArrayCreationExpression(ImplicitArrayCreationExpressionSyntax node) =>
            Report(Diagnostics.ReferenceType, node, "creates a managed array", "use stackalloc for a register tile or Shared.Allocate for shared memory");

        public override void VisitCollectionExpression(CollectionExpressionSyntax node) =>
            Report(Diagnostics.ReferenceType, node, "uses a collection expression", "use stackalloc for a register tile");

        public override void VisitLiteralExpression(LiteralExpressionSyntax node)
        {
            if (node.IsKind(SyntaxKind.StringLiteralExpression) || node.IsKind(SyntaxKind.Utf8StringLiteralExpression) || node.IsKind(SyntaxKind.CharacterLiteralExpression))
            {
                Report(Diagnostics.String, node, "uses a string or character literal; kernels have no strings", "remove text from kernel code");
            }
            else if (node.IsKind(SyntaxKind.NullLiteralExpression))
            {
                Report(Diagnostics.ReferenceType, node, "uses null; kernels have no references", "use views and values");
            }
        }

        public override void VisitInterpolatedStringExpression(InterpolatedStringExpressionSyntax node) =>
            Report(Diagnostics.String, node, "uses an interpolated string; kernels have no strings", "remove text from kernel code");

        public override void VisitThrowStatement(ThrowStatementSyntax node) =>
            Report(Diagnostics.Exception, node, "throws an exception; kernels have no exceptions", "signal errors through an output view");

        public override void VisitThrowExpression(ThrowExpressionSyntax node) =>
            Report(Diagnostics.Exception, node, "throws an exception; kernels have no exceptions", "signal errors through an output view");

        public override void VisitTryStatement(TryStatementSyntax node)
        {
            Report(Diagnostics.Exception, node, "uses try/catch/finally; kernels have no exceptions", "remove the try statement");
            base.VisitTryStatement(node);
        }

        public override void VisitQueryExpression(QueryExpressionSyntax node) =>
            Report(Diagnostics.Linq, node, "uses a LINQ query; kernels cannot enumerate collections", "write a for loop");

        public override void VisitForEachStatement(ForEachStatementSyntax node)
        {
            Report(Diagnostics.ForEach, node.ForEachKeyword, "uses foreach; kernels have no enumerators", "write a for loop over an index");
            base.VisitForEachStatement(node);
        }

        public override void VisitForEachVariableStatement(ForEachVariableStatementSyntax node)
        {
            Report(Diagnostics.ForEach, node.ForEachKeyword, "uses foreach; kernels have no enumerators", "write a for loop over an index");
            base.VisitForEachVariableStatement(node);
        }

        private void Report(DiagnosticDescriptor d, SyntaxToken token, string what, string hint) =>
            _ctx.Report(d, token.GetLocation(), $"{Who} {what} (hint: {hint})");

        public override void VisitGotoStatement(GotoStatementSyntax node) =>
            Report(Diagnostics.Goto, node, "uses goto", "use structured control flow (break, continue, flags)");

        public override void VisitLabeledStatement(LabeledStatementSyntax node)
        {
            Report(Diagnostics.Goto, node, "uses a label", "use structured control flow (break, continue, flags)");
            base.VisitLabeledStatement(node);
        }

        public override void VisitStackAllocArrayCreationExpression(StackAllocArrayCreationExpressionSyntax node)
        {
            if (node.Type is ArrayTypeSyntax array && array.RankSpecifiers.Count == 1 && array.RankSpecifiers[0].Sizes.Count == 1 &&
                array.RankSpecifiers[0].Sizes[0] is ExpressionSyntax size && size is not OmittedArraySizeExpressionSyntax)
            {
                if (!IsConstantSize(size))
                {
                    Report(Diagnostics.StackAllocSize, size, "sizes a stackalloc with a non-constant expression", "use literals, constants and [Specialization] parameters");
                }
            }
            else
            {
                Report(Diagnostics.StackAllocSize, node, "uses a stackalloc without an explicit size", "write stackalloc T[N] with a constant N");
            }
            if (node.Initializer != null)
            {
                Report(Diagnostics.Unsupported, node.Initializer, "initializes a stackalloc tile", "assign the elements in a loop");
            }
            if (node.Parent is not EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Parent: LocalDeclarationStatementSyntax } decl } } ||
                Intrinsics.GetViewKind(_model.GetTypeInfo(decl.Type).Type) != ViewKind.Span)
            {
                Report(Diagnostics.Unsupported, node, "uses stackalloc outside 'Span<T> x = stackalloc T[N];'", "declare the tile as a Span<T> local");
            }
            base.VisitStackAllocArrayCreationExpression(node);
        }

        /// <summary>Literals, constants, specialization parameters and arithmetic of them.</summary>
        public bool IsConstantSize(ExpressionSyntax e)
        {
            if (_model.GetConstantValue(e).HasValue)
            {
                return true;
            }
            switch (e)
            {
                case ParenthesizedExpressionSyntax p:
                    return IsConstantSize(p.Expression);
                case BinaryExpressionSyntax b:
                    return IsConstantSize(b.Left) && IsConstantSize(b.Right);
                case PrefixUnaryExpressionSyntax u:
                    return IsConstantSize(u.Operand);
                case CastExpressionSyntax c:
                    return IsConstantSize(c.Expression);
                case IdentifierNameSyntax id:
                    return _model.GetSymbolInfo(id).Symbol is IParameterSymbol p2 && IsSpecialization(p2);
                default:
                    return false;
            }
        }

        public static bool IsSpecialization(IParameterSymbol p) =>
            p.GetAttributes().Any(a => Intrinsics.FullName(a.AttributeClass) == Intrinsics.Ns + ".SpecializationAttribute");

        public override void VisitIsPatternExpression(IsPatternExpressionSyntax node)
        {
            if (node.Pattern is not ConstantPatternSyntax)
            {
                Report(Diagnostics.Pattern, node, "uses a pattern match", "compare values with == and relational operators");
            }
            base.VisitIsPatternExpression(node);
        }

        public override void VisitBinaryExpression(BinaryExpressionSyntax node)
        {
            if (node.IsKind(SyntaxKind.IsExpression) || node.IsKind(SyntaxKind.AsExpression))
            {
                Report(Diagnostics.Pattern, node, $"uses '{node.OperatorToken.Text}'; kernels have no type tests", "kernel values have static types");
                return;
            }
            if (node.IsKind(SyntaxKind.CoalesceExpression))
            {
                Report(Diagnostics.ReferenceType, node, "uses '??'; kernels have no null", "use a conditional");
            }
            base.VisitBinaryExpression(node);
        }

        public override void VisitSwitchExpression(SwitchExpressionSyntax node)
        {
            Report(Diagnostics.Pattern, node, "uses a switch expression", "use a switch statement or the conditional operator");
        }

        public override void VisitCasePatternSwitchLabel(CasePatternSwitchLabelSyntax node) =>
            Report(Diagnostics.Pattern, node, "uses a pattern case label", "switch on integer constants");

        public override void VisitUnsafeStatement(UnsafeStatementSyntax node)
        {
            Report(Diagnostics.Unsafe, node.UnsafeKeyword, "uses an unsafe block", "use views and indices instead of pointers");
        }

        public override void VisitFixedStatement(FixedStatementSyntax node) =>
            Report(Diagnostics.Unsafe, node, "uses fixed", "use views and indices instead of pointers");

        public override void VisitPointerType(PointerTypeSyntax node) =>
            Report(Diagnostics.Unsafe, node, "uses a pointer type", "use views and indices instead of pointers");

        public override void VisitPrefixUnaryExpression(PrefixUnaryExpressionSyntax node)
        {
            if (node.IsKind(SyntaxKind.AddressOfExpression) || node.IsKind(SyntaxKind.PointerIndirectionExpression))
            {
                Report(Diagnostics.Unsafe, node, "uses a pointer operation", "use views and indices instead of pointers");
            }
            base.VisitPrefixUnaryExpression(node);
        }

        public override void VisitCheckedExpression(CheckedExpressionSyntax node)
        {
            if (node.IsKind(SyntaxKind.CheckedExpression))
            {
                Report(Diagnostics.Checked, node, "uses checked arithmetic; GPUs have no overflow traps", "remove 'checked' (integer overflow wraps)");
            }
            base.VisitCheckedExpression(node);
        }

        public override void VisitCheckedStatement(CheckedStatementSyntax node)
        {
            if (node.IsKind(SyntaxKind.CheckedStatement))
            {
                Report(Diagnostics.Checked, node.Keyword, "uses a checked block; GPUs have no overflow traps", "remove 'checked' (integer overflow wraps)");
            }
            base.VisitCheckedStatement(node);
        }

        public override void VisitYieldStatement(YieldStatementSyntax node) => Unsupported(node, "yield");
        public override void VisitAwaitExpression(AwaitExpressionSyntax node) => Unsupported(node, "await");
        public override void VisitLockStatement(LockStatementSyntax node) => Unsupported(node, "lock");
        public override void VisitUsingStatement(UsingStatementSyntax node) => Unsupported(node, "using");
        public override void VisitTupleExpression(TupleExpressionSyntax node) => Unsupported(node, "a tuple");
        public override void VisitRefExpression(RefExpressionSyntax node)
        {
            if (node.Parent is not ArgumentSyntax)
            {
                Unsupported(node, "a ref expression");
            }
            base.VisitRefExpression(node);
        }

        public override void VisitRefType(RefTypeSyntax node) => Unsupported(node, "a ref local");
        public override void VisitDeclarationExpression(DeclarationExpressionSyntax node) => Unsupported(node, "an out variable or deconstruction");
        public override void VisitConditionalAccessExpression(ConditionalAccessExpressionSyntax node) => Unsupported(node, "'?.'");
        public override void VisitRangeExpression(RangeExpressionSyntax node) => Unsupported(node, "a range");
        public override void VisitWithExpression(WithExpressionSyntax node) => Unsupported(node, "'with'");
        public override void VisitSizeOfExpression(SizeOfExpressionSyntax node) => Unsupported(node, "sizeof");
        public override void VisitTypeOfExpression(TypeOfExpressionSyntax node) => Unsupported(node, "typeof");

        private void Unsupported(SyntaxNode node, string what) =>
            Report(Diagnostics.Unsupported, node, $"uses {what}, which kernels do not support", "see docs/kernel-platform.md for the kernel language");

        public override void VisitVariableDeclaration(VariableDeclarationSyntax node)
        {
            var type = _model.GetTypeInfo(node.Type).Type;
            CheckValueType(node.Type, type);
            base.VisitVariableDeclaration(node);
        }

        private void CheckValueType(SyntaxNode node, ITypeSymbol? type)
        {
            if (type == null)
            {
                return;
            }
            if (type.TypeKind == TypeKind.Dynamic)
            {
                Report(Diagnostics.Dynamic, node, "uses dynamic", "use static numeric types");
            }
            else if (type.SpecialType == SpecialType.System_String || type.SpecialType == SpecialType.System_Char)
            {
                Report(Diagnostics.String, node, "declares a string or char", "kernels have no text");
            }
            else if (type.TypeKind == TypeKind.Pointer || type.TypeKind == TypeKind.FunctionPointer)
            {
                Report(Diagnostics.Unsafe, node, "uses a pointer type", "use views and indices instead of pointers");
            }
            else if (!type.IsValueType)
            {
                Report(Diagnostics.ReferenceType, node, $"uses reference type '{type.Name}'", "use numeric types, plain structs and views");
            }
        }

        public override void VisitIdentifierName(IdentifierNameSyntax node)
        {
            if (node.IsVar)
            {
                return;
            }
            var symbol = _model.GetSymbolInfo(node).Symbol;
            if (symbol is ILocalSymbol or IParameterSymbol)
            {
                var type = symbol is ILocalSymbol l ? l.Type : ((IParameterSymbol)symbol).Type;
                if (type.TypeKind == TypeKind.Dynamic)
                {
                    Report(Diagnostics.Dynamic, node, "uses dynamic", "use static numeric types");
                }
                if (_function.Symbol.MethodKind == MethodKind.LocalFunction &&
                    !SymbolEqualityComparer.Default.Equals(symbol.ContainingSymbol, _function.Symbol))
                {
                    Report(Diagnostics.LocalFunction, node, $"captures '{symbol.Name}' from the enclosing method", "pass it as a parameter (make the local function static)");
                }
            }
            CheckMember(node, symbol);
        }

        public override void VisitMemberAccessExpression(MemberAccessExpressionSyntax node)
        {
            var symbol = _model.GetSymbolInfo(node).Symbol;
            if (_model.GetConstantValue(node).HasValue)
            {
                return;
            }
            CheckMember(node, symbol);
            if (symbol is IFieldSymbol { IsStatic: false } || symbol is IPropertySymbol { IsStatic: false } || symbol is IMethodSymbol)
            {
                Visit(node.Expression);
            }
        }

        private void CheckMember(ExpressionSyntax node, ISymbol? symbol)
        {
            if (_model.GetConstantValue(node).HasValue)
            {
                return;
            }
            switch (symbol)
            {
                case IPropertySymbol property:
                {
                    string type = Intrinsics.FullName(property.ContainingType);
                    bool ok = type switch
                    {
                        Intrinsics.Ns + ".ThreadIdx" or Intrinsics.Ns + ".BlockIdx" or Intrinsics.Ns + ".BlockDim" or Intrinsics.Ns + ".GridDim" => true,
                        Intrinsics.Ns + ".Warp" => true,
                        _ => property.Name == "Length" && Intrinsics.GetViewKind(property.ContainingType) != ViewKind.None,
                    };
                    if (!ok)
                    {
                        Report(Diagnostics.Member, node, $"reads property '{property.ContainingType.Name}.{property.Name}', which has no GPU mapping", "use fields of plain structs, view.Length and the index intrinsics");
                    }
                    if (type is Intrinsics.Ns + ".ThreadIdx" || (type == Intrinsics.Ns + ".Warp"))
                    {
                        DirectThreadState = true;
                    }
                    break;
                }
                case IFieldSymbol field when field.IsStatic && !field.IsConst:
                    Report(Diagnostics.Member, node, $"reads static field '{field.Name}'; kernels cannot read managed statics", "make it a const or pass it as a parameter");
                    break;
                case IMethodSymbol method when node.Parent is not InvocationExpressionSyntax &&
                                                !(node.Parent is MemberAccessExpressionSyntax ma && ma.Name == node && ma.Parent is InvocationExpressionSyntax):
                    Report(Diagnostics.Delegate, node, $"converts method '{method.Name}' to a delegate; kernels may not create delegates", "call the method directly");
                    break;
                case IEventSymbol:
                    Report(Diagnostics.Delegate, node, "uses an event", "kernels have no delegates");
                    break;
            }
        }

        public override void VisitInvocationExpression(InvocationExpressionSyntax node)
        {
            var method = _model.GetSymbolInfo(node).Symbol as IMethodSymbol;
            if (method == null)
            {
                Report(Diagnostics.UnmappedCall, node, "makes a call that cannot be resolved", "call intrinsics or static helpers of the kernel's class");
            }
            else
            {
                var kind = Intrinsics.Classify(method);
                switch (kind)
                {
                    case IntrinsicKind.None:
                        CheckHelperCall(node, method);
                        break;
                    case IntrinsicKind.Barrier:
                        DirectCollective = true;
                        Features |= 1;
                        break;
                    case IntrinsicKind.WarpCollective:
                        DirectCollective = true;
                        DirectWarpScratch = true;
                        DirectThreadState = true;
                        Features |= 2;
                        break;
                    case IntrinsicKind.MmaCollective:
                        DirectCollective = true;
                        DirectWarpScratch = true;
                        DirectThreadState = true;
                        Features |= 4;
                        break;
                    case IntrinsicKind.Atomic:
                        DirectThreadState = true;
                        Features |= 32;
                        CheckAtomicTarget(node);
                        break;
                    case IntrinsicKind.AsyncCopy:
                    case IntrinsicKind.Wgmma:
                        // Per-thread operations on the CPU and OpenCL (wgmma reads its operands from shared memory): no
                        // collective, no thread state.
                        break;
                    case IntrinsicKind.SharedAllocate:
                        Features |= 8;
                        CheckShared(node, true);
                        break;
                    case IntrinsicKind.SharedDynamic:
                        Features |= 16;
                        CheckShared(node, false);
                        break;
                }
            }
            foreach (var arg in node.ArgumentList.Arguments)
            {
                Visit(arg);
            }
            if (node.Expression is MemberAccessExpressionSyntax ma && method is { IsStatic: false })
            {
                Visit(ma.Expression);
            }
        }

        private void CheckAtomicTarget(InvocationExpressionSyntax node)
        {
            var first = node.ArgumentList.Arguments.FirstOrDefault();
            if (first == null || !first.RefKindKeyword.IsKind(SyntaxKind.RefKeyword) || first.Expression is not ElementAccessExpressionSyntax access ||
                Intrinsics.GetViewKind(_model.GetTypeInfo(access.Expression).Type) is not (ViewKind.Array or ViewKind.Shared))
            {
                Report(Diagnostics.Unsupported, node, "calls an atomic on something other than 'ref view[index]'", "write Atomic.Add(ref view[i], value) on an ArrayView or SharedView");
            }
        }

        private void CheckShared(InvocationExpressionSyntax node, bool allocate)
        {
            bool topLevel = _function.IsKernel &&
                node.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Parent: LocalDeclarationStatementSyntax { Parent: BlockSyntax block } } } } &&
                block.Parent == _function.Declaration;
            string name = allocate ? "Shared.Allocate" : "Shared.Dynamic";
            if (!topLevel)
            {
                Report(Diagnostics.SharedAllocation, node, $"calls {name} outside a local declaration at the kernel's top level", "declare 'var tile = " + name + "<T>(...);' at the top of the kernel body");
            }
            else if (allocate && (node.ArgumentList.Arguments.Count != 1 || !IsConstantSize(node.ArgumentList.Arguments[0].Expression)))
            {
                Report(Diagnostics.SharedAllocation, node, "sizes Shared.Allocate with a non-constant count", "use literals, constants and [Specialization] parameters");
            }
        }

        private void CheckHelperCall(InvocationExpressionSyntax node, IMethodSymbol method)
        {
            method = method.OriginalDefinition;
            bool sameClass = SymbolEqualityComparer.Default.Equals(method.ContainingType, _ctx.Kernel.Symbol.ContainingType);
            bool hasSource = method.DeclaringSyntaxReferences.Length > 0;
            if (method.MethodKind == MethodKind.LocalFunction && hasSource)
            {
                _function.Callees.Add(method);
                return;
            }
            if (method.MethodKind == MethodKind.Ordinary && method.IsStatic && sameClass && hasSource)
            {
                _function.Callees.Add(method);
                return;
            }
            string owner = method.ContainingType?.Name ?? "?";
            string hint = owner is "Math" or "MathF" ? "use KMath, which has C semantics" : "call intrinsics (KMath, Warp, Atomic, ...) or static helpers of the kernel's class";
            Report(Diagnostics.UnmappedCall, node, $"calls '{owner}.{method.Name}', which has no GPU mapping", hint);
        }
    }
}
