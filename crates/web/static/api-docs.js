// Starts Swagger UI on Keygate's own document. A file of its own, not an inline script: the
// page's Content-Security-Policy allows scripts from 'self' only.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Never send the document to validator.swagger.io (the default badge does).
    validatorUrl: null,
  });
});
