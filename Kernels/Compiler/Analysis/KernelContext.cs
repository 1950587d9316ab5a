using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GanEngine.Kernels.Compiler.Analysis
{
    /// <summary>The kernel or one of its helpers (static method of the same class, or local function).</summary>
    internal sealed class FunctionInfo
    {
        public FunctionInfo(IMethodSymbol symbol, SyntaxNode declaration, SemanticModel model, bool isKernel)
        {
            Symbol = symbol;
            Declaration = declaration;
            Model = model;
            IsKernel = isKernel;
        }

        public IMethodSymbol Symbol { get; }
        public SyntaxNode Declaration { get; }
        public SemanticModel Model { get; }
        public bool IsKernel { get; }
        public string CName { get; set; } = "";
        public List<IMethodSymbol> Callees { get; } = new List<IMethodSymbol>();

        /// <summary>Contains a collective itself or through a helper.</summary>
        public bool HasCollectives { get; set; }

        /// <summary>Needs the OpenCL warp scratch (shuffles, votes, mma), itself or through a helper.</summary>
        public bool NeedsWarpScratch { get; set; }

        /// <summary>Reads thread-varying intrinsics (thread index, lane, atomics, shuffles) itself or through a helper.</summary>
        public bool ReadsThreadState { get; set; }

        public BlockSyntax? Body => Declaration switch
        {
            MethodDeclarationSyntax m => m.Body,
            LocalFunctionStatementSyntax l => l.Body,
            _ => null,
        };

        public ArrowExpressionClauseSyntax? ExpressionBody => Declaration switch
        {
            MethodDeclarationSyntax m => m.ExpressionBody,
            LocalFunctionStatementSyntax l => l.ExpressionBody,
            _ => null,
        };

        public SyntaxNode? BodyNode => (SyntaxNode?)Body ?? ExpressionBody;

        public ParameterListSyntax ParameterList => Declaration switch
        {
            MethodDeclarationSyntax m => m.ParameterList,
            _ => ((LocalFunctionStatementSyntax)Declaration).ParameterList,
        };
    }

    /// <summary>What the analysis learnt about one kernel; shared by the emitters.</summary>
    internal sealed class KernelContext
    {
        public KernelContext(Compilation compilation, FunctionInfo kernel)
        {
            Compilation = compilation;
            Kernel = kernel;
        }

        public Compilation Compilation { get; }
        public FunctionInfo Kernel { get; }

        /// <summary>Helpers, callees before callers.</summary>
        public List<FunctionInfo> Helpers { get; } = new List<FunctionInfo>();

        public Dictionary<IMethodSymbol, FunctionInfo> Functions { get; } =
            new Dictionary<IMethodSymbol, FunctionInfo>(SymbolEqualityComparer.Default);

        public List<DiagnosticInfo> Diagnostics { get; } = new List<DiagnosticInfo>();

        /// <summary>Collective statements (original syntax) and the collective call each contains.</summary>
        public Dictionary<StatementSyntax, InvocationExpressionSyntax> CollectiveStatements { get; } =
            new Dictionary<StatementSyntax, InvocationExpressionSyntax>();

        public int Features { get; set; }
        public int MaxThreads { get; set; }
        public int MinBlocks { get; set; }
        public bool UsesDouble { get; set; }

        public string KernelName => Kernel.Symbol.Name;

        public bool HasErrors => Diagnostics.Count > 0;

        public void Report(DiagnosticDescriptor descriptor, Location location, string message)
        {
            var info = DiagnosticInfo.Create(descriptor, location, message);
            if (!Diagnostics.Any(d => d.Id == info.Id && d.Span == info.Span))
            {
                Diagnostics.Add(info);
            }
        }

        public SemanticModel ModelFor(SyntaxNode node) => Compilation.GetSemanticModel(node.SyntaxTree);

        public FunctionInfo? FunctionOf(IMethodSymbol? method) =>
            method != null && Functions.TryGetValue(method.OriginalDefinition, out var f) ? f : null;

        public bool IsCollectiveCall(IMethodSymbol method)
        {
            var kind = Intrinsics.Classify(method);
            if (Intrinsics.IsCollective(kind))
            {
                return true;
            }
            var f = FunctionOf(method);
            return f != null && !f.IsKernel && f.HasCollectives;
        }
    }
}
