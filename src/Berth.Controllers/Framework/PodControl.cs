using Berth.Api.Models;
using Berth.Api.Serialization;
using Berth.Api.Validation;
using Berth.Client;

namespace Berth.Controllers.Framework;

/// <summary>Upstream PodControlInterface: how a controller creates and deletes its pods (a seam tests fake to fail on purpose).</summary>
public interface IPodControl
{
    Task<Pod> CreatePodsWithControllerRefAsync(string ns, PodTemplateSpec template, IKubernetesObject controller,
        OwnerReference controllerRef, CancellationToken ct);

    Task DeletePodAsync(string ns, string name, IKubernetesObject controller, CancellationToken ct);
}

/// <summary>
/// Upstream <c>RealPodControl</c> (controller_utils.go): creates pods from a controller's template and deletes them,
/// recording upstream's events on the controller (SuccessfulCreate / FailedCreate / SuccessfulDelete / FailedDelete).
/// </summary>
public sealed class PodControl : IPodControl
{
    public const string SuccessfulCreateReason = "SuccessfulCreate";
    public const string FailedCreateReason = "FailedCreate";
    public const string SuccessfulDeleteReason = "SuccessfulDelete";
    public const string FailedDeleteReason = "FailedDelete";

    private readonly KubeClient _client;
    private readonly EventRecorder _events;

    public PodControl(KubeClient client, EventRecorder events)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(events);
        _client = client;
        _events = events;
    }

    /// <summary>Creates one pod from <paramref name="template"/> owned by <paramref name="controller"/>; returns it as created.</summary>
    /// <exception cref="ArgumentException">The controller reference is incomplete.</exception>
    /// <exception cref="InvalidOperationException">The template has no labels.</exception>
    /// <exception cref="KubeApiException">The API server refused the pod (a FailedCreate event says why).</exception>
    public async Task<Pod> CreatePodsWithControllerRefAsync(string ns, PodTemplateSpec template, IKubernetesObject controller,
        OwnerReference controllerRef, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(controller);
        ValidateControllerRef(controllerRef);
        var pod = GetPodFromTemplate(template, controller, controllerRef);
        pod.Metadata!.Namespace = ns;
        if (pod.Metadata.Labels is not { Count: > 0 })
        {
            // Not an ArgumentException: its message would gain a parameter suffix, and this text reaches the status.
            throw new InvalidOperationException("unable to create pods, no labels");
        }
        Pod created;
        try
        {
            created = await _client.CreateAsync(pod, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
        {
            // Upstream stays quiet when the namespace is terminating: the failure is expected and will not last.
            if (e is not KubeApiException { Status.Details.Causes: { } causes } || !causes.Any(c => c.Reason == "NamespaceTerminating"))
            {
                _events.Record(controller, "Warning", FailedCreateReason, $"Error creating: {e.Message}");
            }
            throw;
        }
        _events.Record(controller, "Normal", SuccessfulCreateReason, $"Created pod: {created.Metadata?.Name}");
        return created;
    }

    /// <summary>Deletes a pod of <paramref name="controller"/>.</summary>
    /// <exception cref="KubeApiException">404: the pod was already gone (no event, as upstream).</exception>
    /// <exception cref="PodDeletionException">Any other failure, after a FailedDelete event.</exception>
    public async Task DeletePodAsync(string ns, string name, IKubernetesObject controller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(controller);
        try
        {
            await _client.DeleteAsync<Pod>(ns, name, ct: ct).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.StatusCode == 404)
        {
            throw;
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or TimeoutException)
        {
            _events.Record(controller, "Warning", FailedDeleteReason, $"Error deleting: {e.Message}");
            throw new PodDeletionException($"unable to delete pods: {e.Message}", e);
        }
        _events.Record(controller, "Normal", SuccessfulDeleteReason, $"Deleted pod: {name}");
    }

    /// <summary>
    /// Upstream GetPodFromTemplate: the template's labels, annotations, finalizers and spec (copies), generateName
    /// "&lt;controller name&gt;-" and the controller reference.
    /// </summary>
    public static Pod GetPodFromTemplate(PodTemplateSpec template, IKubernetesObject parent, OwnerReference? controllerRef)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(parent);
        var meta = template.Metadata;
        var pod = new Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new ObjectMeta
            {
                Labels = meta?.Labels is null ? null : new Dictionary<string, string>(meta.Labels),
                Annotations = meta?.Annotations is null ? null : new Dictionary<string, string>(meta.Annotations),
                GenerateName = PodsPrefix(parent.Metadata?.Name ?? ""),
                Finalizers = meta?.Finalizers is null ? null : [.. meta.Finalizers],
            },
            Spec = template.Spec is null ? new PodSpec() : KubeJson.DeepClone(template.Spec),
        };
        if (controllerRef is not null)
        {
            pod.Metadata.OwnerReferences = [controllerRef];
        }
        return pod;
    }

    // Upstream getPodsPrefix: "<name>-" unless that is not a valid generateName (ValidatePodName with prefix=true).
    internal static string PodsPrefix(string controllerName)
    {
        var prefix = controllerName + "-";
        // maskTrailingDash: a generateName may end in '-', the generated suffix follows it.
        var masked = prefix.Length > 1 ? prefix[..^1] + "a" : prefix;
        return NameValidation.IsDns1123Subdomain(masked).Count == 0 ? prefix : controllerName;
    }

    // Upstream validateControllerRef.
    private static void ValidateControllerRef(OwnerReference? controllerRef)
    {
        var problem = controllerRef switch
        {
            null => "controllerRef is nil",
            { ApiVersion: null or "" } => "controllerRef has empty APIVersion",
            { Kind: null or "" } => "controllerRef has empty Kind",
            { Controller: not true } => "controllerRef.Controller is not set to true",
            { BlockOwnerDeletion: not true } => "controllerRef.BlockOwnerDeletion is not set",
            _ => null,
        };
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(controllerRef));
        }
    }
}

/// <summary>
/// Upstream AddPodControllerUIDIndexer / FilterPodsByOwner: pods indexed by their controller's uid, orphans under one
/// key per namespace, so a controller finds its pods and its adoption candidates without scanning every pod.
/// </summary>
public static class PodControllerIndex
{
    public const string Name = "podControllerUID";

    private const string OrphanPodIndexKey = "_ORPHAN_POD";

    /// <summary>Adds the index to the (shared) pod informer unless another controller already did.</summary>
    public static void Add(Informer<Pod> pods) =>
        SharedIndex.Add(pods, Name, static pod => [OwnerRefs.ControllerOf(pod)?.Uid ?? OrphanKey(pod.Metadata?.Namespace)]);

    /// <summary>The pods controlled by <paramref name="owner"/> and the orphans of its namespace.</summary>
    public static List<Pod> PodsOf(Informer<Pod> pods, IKubernetesObject owner)
    {
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(owner);
        return [.. pods.ByIndex(Name, owner.Metadata?.Uid ?? ""), .. pods.ByIndex(Name, OrphanKey(owner.Metadata?.Namespace))];
    }

    private static string OrphanKey(string? ns) => OrphanPodIndexKey + "/" + ns;
}

/// <summary>A pod could not be deleted (other than because it was already gone); the message is upstream's.</summary>
public sealed class PodDeletionException(string message, Exception inner) : Exception(message, inner);
