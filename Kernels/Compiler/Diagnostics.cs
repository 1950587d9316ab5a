using Microsoft.CodeAnalysis;

namespace GanEngine.Kernels.Compiler
{
    /// <summary>The GEK diagnostics. Every rejected construct is an error at its own location, with a hint.</summary>
    internal static class Diagnostics
    {
        private const string Category = "GanEngine.Kernels";

        private static DiagnosticDescriptor Error(string id, string title) =>
            new DiagnosticDescriptor(id, title, "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor KernelNotStatic = Error("GEK001", "Kernel must be static");
        public static readonly DiagnosticDescriptor KernelNotVoid = Error("GEK002", "Kernel must return void");
        public static readonly DiagnosticDescriptor ClassNotStaticPartial = Error("GEK003", "Kernel class must be a top-level static partial class");
        public static readonly DiagnosticDescriptor OverloadedKernel = Error("GEK004", "Kernel names must be unique in their class");
        public static readonly DiagnosticDescriptor ParameterType = Error("GEK005", "Parameter type not allowed");
        public static readonly DiagnosticDescriptor ParameterModifier = Error("GEK006", "ref/out/in parameters not allowed");
        public static readonly DiagnosticDescriptor Specialization = Error("GEK007", "Specialization parameters must be int");
        public static readonly DiagnosticDescriptor Generic = Error("GEK008", "Kernels and helpers may not be generic");
        public static readonly DiagnosticDescriptor Delegate = Error("GEK010", "Delegates are not allowed");
        public static readonly DiagnosticDescriptor ReferenceType = Error("GEK011", "Reference types are not allowed");
        public static readonly DiagnosticDescriptor String = Error("GEK012", "Strings are not allowed");
        public static readonly DiagnosticDescriptor Exception = Error("GEK013", "Exceptions are not allowed");
        public static readonly DiagnosticDescriptor Linq = Error("GEK014", "LINQ is not allowed");
        public static readonly DiagnosticDescriptor UnmappedCall = Error("GEK015", "Call without a GPU mapping");
        public static readonly DiagnosticDescriptor ForEach = Error("GEK016", "foreach is not allowed");
        public static readonly DiagnosticDescriptor Goto = Error("GEK017", "goto is not allowed");
        public static readonly DiagnosticDescriptor StackAllocSize = Error("GEK018", "stackalloc size must be constant");
        public static readonly DiagnosticDescriptor Pattern = Error("GEK019", "Type tests and patterns are not allowed");
        public static readonly DiagnosticDescriptor Dynamic = Error("GEK020", "dynamic is not allowed");
        public static readonly DiagnosticDescriptor Unsafe = Error("GEK021", "Pointers and unsafe code are not allowed");
        public static readonly DiagnosticDescriptor Recursion = Error("GEK022", "Recursion is not allowed");
        public static readonly DiagnosticDescriptor NonUniformCollective = Error("GEK023", "Collective in non-uniform control flow");
        public static readonly DiagnosticDescriptor CollectivePosition = Error("GEK024", "Collective not in statement position");
        public static readonly DiagnosticDescriptor SharedAllocation = Error("GEK025", "Shared memory allocation rule violated");
        public static readonly DiagnosticDescriptor Checked = Error("GEK026", "checked arithmetic is not allowed");
        public static readonly DiagnosticDescriptor Unsupported = Error("GEK027", "Unsupported construct");
        public static readonly DiagnosticDescriptor CollectiveHelperRef = Error("GEK028", "Helpers with collectives may not have ref/out/in parameters");
        public static readonly DiagnosticDescriptor LocalFunction = Error("GEK029", "Local function rule violated");
        public static readonly DiagnosticDescriptor Member = Error("GEK030", "Member without a GPU mapping");
        public static readonly DiagnosticDescriptor DynamicLength = Error("GEK031", "Length of dynamic shared memory is not available");

        public static DiagnosticDescriptor ById(string id)
        {
            foreach (var d in All)
            {
                if (d.Id == id)
                {
                    return d;
                }
            }
            return Unsupported;
        }

        public static readonly DiagnosticDescriptor[] All =
        {
            KernelNotStatic, KernelNotVoid, ClassNotStaticPartial, OverloadedKernel, ParameterType, ParameterModifier,
            Specialization, Generic, Delegate, ReferenceType, String, Exception, Linq, UnmappedCall, ForEach, Goto,
            StackAllocSize, Pattern, Dynamic, Unsafe, Recursion, NonUniformCollective, CollectivePosition,
            SharedAllocation, Checked, Unsupported, CollectiveHelperRef, LocalFunction, Member, DynamicLength,
        };
    }
}
