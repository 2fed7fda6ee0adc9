/*
 * Android side of Google offline access: sign the user in (an ID token, for our API's
 * Authorization header), ask for offline access (a one-time server auth code), POST the
 * code to /authcode, then read GET /connection.
 *
 * Authentication and authorization are kept apart, as Google recommends: Credential Manager
 * signs the user in; AuthorizationClient asks for the scopes and the server auth code.
 *
 * Dependencies (app/build.gradle.kts; Google's Maven repository):
 *   implementation("com.google.android.gms:play-services-auth:21.3.0")        // AuthorizationClient
 *   implementation("androidx.credentials:credentials:1.5.0")
 *   implementation("androidx.credentials:credentials-play-services-auth:1.5.0")
 *   implementation("com.google.android.libraries.identity.googleid:googleid:1.1.1")
 *   implementation("androidx.activity:activity-ktx:1.10.1")
 *   implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.9.0")
 *
 * Not compiled by this repository's CI (Google's Maven repository is out of its reach):
 * paste it into an app module and build it there.
 */
package com.example.offlineaccess

import android.app.Activity
import androidx.activity.ComponentActivity
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.IntentSenderRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.credentials.CredentialManager
import androidx.credentials.CustomCredential
import androidx.credentials.GetCredentialRequest
import androidx.credentials.exceptions.GetCredentialException
import androidx.lifecycle.lifecycleScope
import com.google.android.gms.auth.api.identity.AuthorizationRequest
import com.google.android.gms.auth.api.identity.AuthorizationResult
import com.google.android.gms.auth.api.identity.Identity
import com.google.android.gms.common.api.ApiException
import com.google.android.gms.common.api.Scope
import com.google.android.libraries.identity.googleid.GetGoogleIdOption
import com.google.android.libraries.identity.googleid.GoogleIdTokenCredential
import java.net.HttpURLConnection
import java.net.URL
import java.net.URLEncoder
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.json.JSONObject

/** What the backend says about the user's offline access (`POST /authcode` and `GET /connection`). */
data class OfflineAccessStatus(
    val offlineAccess: Boolean,
    /** `active`, `needs_reconnect`, `disconnected`, `not_connected` (GET /connection only). */
    val status: String?,
    /** Why it is not active, e.g. `no_refresh_token`, `missing_scopes`, `revoked`. */
    val reason: String?,
    val missingScopes: List<String>,
)

/** A step failed: say which, and what the user or the developer should know. */
class OfflineAccessException(message: String, cause: Throwable? = null) : Exception(message, cause)

/**
 * Create it in `onCreate` (it registers an activity-result launcher, which must happen
 * before the activity is started), then call [connect] from a button.
 *
 * @param apiBaseUrl the stack's `ApiUrl` output, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`
 * @param serverClientId the **web** (server) OAuth client ID, not the Android one
 */
class OfflineAccess(
    private val activity: ComponentActivity,
    private val apiBaseUrl: String,
    private val serverClientId: String,
    private val onStatus: (OfflineAccessStatus) -> Unit,
    private val onError: (OfflineAccessException) -> Unit,
) {
    private val authorizationClient = Identity.getAuthorizationClient(activity)
    private var pendingResolution: CompletableDeferred<AuthorizationResult>? = null

    /**
     * A first-time user always gets `hasResolution()`: Google's consent screen must be shown
     * (a PendingIntent). Its result comes back here and is read with
     * `getAuthorizationResultFromIntent`; only then is there a server auth code.
     */
    private val resolutionLauncher: ActivityResultLauncher<IntentSenderRequest> =
        activity.registerForActivityResult(ActivityResultContracts.StartIntentSenderForResult()) { result ->
            val pending = pendingResolution ?: return@registerForActivityResult
            pendingResolution = null
            if (result.resultCode != Activity.RESULT_OK) {
                pending.completeExceptionally(OfflineAccessException("The user closed Google's consent screen"))
                return@registerForActivityResult
            }
            try {
                pending.complete(authorizationClient.getAuthorizationResultFromIntent(result.data))
            } catch (e: ApiException) {
                pending.completeExceptionally(OfflineAccessException("Google authorization failed (status ${e.statusCode})", e))
            }
        }

    /** Sign in, ask for offline access, hand the code to the backend, then show its status. */
    fun connect() {
        activity.lifecycleScope.launch {
            try {
                val idToken = signIn()
                var answer = sendAuthCode(authorize(forceConsent = false))
                // Google sends a refresh token only with consent: ask once more, forcing it.
                if (!answer.offlineAccess && answer.reason == "no_refresh_token") {
                    answer = sendAuthCode(authorize(forceConsent = true))
                }
                onStatus(answer)
                onStatus(connectionStatus(idToken))
            } catch (e: OfflineAccessException) {
                onError(e)
            } catch (e: Exception) {
                onError(OfflineAccessException("Connecting Google Drive failed: ${e.message}", e))
            }
        }
    }

    /** Credential Manager sign-in: a Google ID token whose `aud` is the server client ID. */
    private suspend fun signIn(): String {
        val option = GetGoogleIdOption.Builder()
            .setServerClientId(serverClientId)
            .setFilterByAuthorizedAccounts(false)
            .build()
        val request = GetCredentialRequest.Builder().addCredentialOption(option).build()
        val credential = try {
            CredentialManager.create(activity).getCredential(activity, request).credential
        } catch (e: GetCredentialException) {
            throw OfflineAccessException("Google sign-in failed: ${e.type}", e)
        }
        if (credential !is CustomCredential || credential.type != GoogleIdTokenCredential.TYPE_GOOGLE_ID_TOKEN_CREDENTIAL) {
            throw OfflineAccessException("Google sign-in returned an unexpected credential type")
        }
        return GoogleIdTokenCredential.createFrom(credential.data).idToken
    }

    /** AuthorizationClient with offline access: the one-time server auth code. */
    private suspend fun authorize(forceConsent: Boolean): String {
        val request = AuthorizationRequest.builder()
            // openid (with email and profile) makes Google return the ID token the backend verifies
            // when it redeems the code; without it the exchange answers 401.
            .setRequestedScopes(
                listOf(
                    Scope("openid"),
                    Scope("email"),
                    Scope("profile"),
                    Scope("https://www.googleapis.com/auth/drive.appdata"),
                ),
            )
            .requestOfflineAccess(serverClientId, forceConsent)
            .build()
        val first = CompletableDeferred<AuthorizationResult>()
        authorizationClient.authorize(request)
            .addOnSuccessListener { first.complete(it) }
            .addOnFailureListener { first.completeExceptionally(OfflineAccessException("Google authorization failed", it)) }
        var result = first.await()
        if (result.hasResolution()) {
            val intent = result.pendingIntent
                ?: throw OfflineAccessException("Google asked for consent but gave no screen to show")
            val resolved = CompletableDeferred<AuthorizationResult>()
            pendingResolution = resolved
            resolutionLauncher.launch(IntentSenderRequest.Builder(intent.intentSender).build())
            result = resolved.await()
        }
        return result.serverAuthCode
            ?: throw OfflineAccessException("Google returned no server auth code (is requestOfflineAccess given the web client ID?)")
    }

    /** POST /authcode with the X-Requested-With header the API requires. Never send anything else. */
    private suspend fun sendAuthCode(code: String): OfflineAccessStatus {
        val body = "authCode=" + URLEncoder.encode(code, "UTF-8")
        val json = request("POST", "authcode", body = body, headers = mapOf("Content-Type" to "application/x-www-form-urlencoded"))
        return statusOf(json)
    }

    /** GET /connection: where the user stands now (also later, e.g. after a revocation). */
    private suspend fun connectionStatus(idToken: String): OfflineAccessStatus =
        statusOf(request("GET", "connection", headers = mapOf("Authorization" to "Bearer $idToken")))

    private suspend fun request(method: String, path: String, body: String? = null, headers: Map<String, String> = emptyMap()): JSONObject =
        withContext(Dispatchers.IO) {
            val connection = URL(apiBaseUrl.trimEnd('/') + "/" + path).openConnection() as HttpURLConnection
            try {
                connection.requestMethod = method
                connection.connectTimeout = 10_000
                connection.readTimeout = 20_000
                connection.setRequestProperty("X-Requested-With", activity.packageName)
                headers.forEach { (name, value) -> connection.setRequestProperty(name, value) }
                if (body != null) {
                    connection.doOutput = true
                    connection.outputStream.use { it.write(body.toByteArray(Charsets.UTF_8)) }
                }
                val status = connection.responseCode
                val stream = if (status in 200..299) connection.inputStream else connection.errorStream
                val text = stream?.bufferedReader()?.use { it.readText() }.orEmpty()
                val json = runCatching { JSONObject(text) }.getOrElse { JSONObject() }
                if (status !in 200..299) {
                    // Every error is {"error": "<code>", "message": "<text>"}; 503 carries Retry-After.
                    val retryAfter = connection.getHeaderField("Retry-After")?.let { " (retry after $it s)" }.orEmpty()
                    throw OfflineAccessException("$method /$path answered $status ${json.optString("error")}: ${json.optString("message")}$retryAfter")
                }
                json
            } finally {
                connection.disconnect()
            }
        }

    private fun statusOf(json: JSONObject): OfflineAccessStatus {
        val missing = json.optJSONArray("missingScopes")
        return OfflineAccessStatus(
            offlineAccess = json.optBoolean("offlineAccess", false),
            status = json.optString("status").ifEmpty { null },
            reason = json.optString("reason").ifEmpty { null },
            missingScopes = List(missing?.length() ?: 0) { missing!!.getString(it) },
        )
    }
}
