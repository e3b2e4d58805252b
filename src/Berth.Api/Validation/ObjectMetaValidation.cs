using System.Text;
using Berth.Api.Models;

namespace Berth.Api.Validation;

/// <summary>
/// The parts of upstream's ValidateObjectMeta (apimachinery pkg/api/validation/objectmeta.go) the garbage collector
/// relies on: owner references it can resolve, and finalizers that do not ask for orphaning and foreground deletion
/// at once. Run on create and on update.
/// </summary>
public static class ObjectMetaValidation
{
    /// <summary>Upstream ValidateOwnerReferences: each reference complete, Events never owners, one controller at most.</summary>
    public static List<FieldError> ValidateOwnerReferences(IReadOnlyList<OwnerReference> ownerReferences, string fldPath)
    {
        var errors = new List<FieldError>();
        string? firstController = null;
        foreach (var reference in ownerReferences)
        {
            ValidateOwnerReference(reference, fldPath, errors);
            if (reference.Controller == true)
            {
                var current = reference.Kind + "/" + reference.Name;
                if (firstController is not null)
                {
                    errors.Add(FieldError.Invalid(fldPath, GoOwnerReferences(ownerReferences),
                        $"Only one reference can have Controller set to true. Found \"true\" in references for {firstController} and {current}"));
                }
                else
                {
                    firstController = current;
                }
            }
        }
        return errors;
    }

    /// <summary>Upstream ValidateFinalizers: qualified names, and never both "orphan" and "foregroundDeletion".</summary>
    public static List<FieldError> ValidateFinalizers(IReadOnlyList<string> finalizers, string fldPath)
    {
        var errors = new List<FieldError>();
        foreach (var finalizer in finalizers)
        {
            foreach (var message in LabelValidation.IsQualifiedName(finalizer))
            {
                errors.Add(FieldError.Invalid(fldPath, finalizer, message));
            }
        }
        if (finalizers.Contains("orphan") && finalizers.Contains("foregroundDeletion"))
        {
            errors.Add(FieldError.Invalid(fldPath, GoValue.Strings(finalizers), "finalizer orphan and foregroundDeletion cannot be both set"));
        }
        return errors;
    }

    private static void ValidateOwnerReference(OwnerReference reference, string fldPath, List<FieldError> errors)
    {
        var apiVersion = reference.ApiVersion ?? "";
        var kind = reference.Kind ?? "";
        var (group, version) = ParseGroupVersion(apiVersion);
        if (version.Length == 0)
        {
            errors.Add(FieldError.Invalid(fldPath + ".apiVersion", apiVersion, "version must not be empty"));
        }
        if (kind.Length == 0)
        {
            errors.Add(FieldError.Invalid(fldPath + ".kind", kind, "must not be empty"));
        }
        if (string.IsNullOrEmpty(reference.Name))
        {
            errors.Add(FieldError.Invalid(fldPath + ".name", "", "must not be empty"));
        }
        if (string.IsNullOrEmpty(reference.Uid))
        {
            errors.Add(FieldError.Invalid(fldPath + ".uid", "", "must not be empty"));
        }
        // BannedOwners: only v1 Event. schema.GroupVersionKind prints as "group/version, Kind=kind".
        if (group.Length == 0 && version == "v1" && kind == "Event")
        {
            errors.Add(FieldError.Invalid(fldPath, GoOwnerReference(reference), $"{group}/{version}, Kind={kind} is disallowed from being an owner"));
        }
    }

    // schema.ParseGroupVersion as FromAPIVersionAndKind uses it: more than one slash leaves group and version empty.
    private static (string Group, string Version) ParseGroupVersion(string apiVersion)
    {
        if (apiVersion is "" or "/")
        {
            return ("", "");
        }
        return apiVersion.Count(c => c == '/') switch
        {
            0 => ("", apiVersion),
            1 => (apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)], apiVersion[(apiVersion.IndexOf('/', StringComparison.Ordinal) + 1)..]),
            _ => ("", ""),
        };
    }

    private static GoValue GoOwnerReferences(IReadOnlyList<OwnerReference> references) =>
        new("[]v1.OwnerReference{" + string.Join(", ", references.Select(r => GoOwnerReference(r).Text)) + "}");

    /// <summary>
    /// Go's %#v of a v1.OwnerReference. Go prints the address of a set *bool, which means nothing to a reader;
    /// the value it points to is printed in its place.
    /// </summary>
    private static GoValue GoOwnerReference(OwnerReference reference)
    {
        var text = new StringBuilder("v1.OwnerReference{")
            .Append("APIVersion:").Append(FieldError.Quote(reference.ApiVersion ?? ""))
            .Append(", Kind:").Append(FieldError.Quote(reference.Kind ?? ""))
            .Append(", Name:").Append(FieldError.Quote(reference.Name ?? ""))
            .Append(", UID:").Append(FieldError.Quote(reference.Uid ?? ""))
            .Append(", Controller:").Append(GoBoolPointer(reference.Controller))
            .Append(", BlockOwnerDeletion:").Append(GoBoolPointer(reference.BlockOwnerDeletion))
            .Append('}');
        return new(text.ToString());
    }

    private static string GoBoolPointer(bool? value) => value switch
    {
        null => "(*bool)(nil)",
        true => "(*bool)(true)",
        false => "(*bool)(false)",
    };
}
