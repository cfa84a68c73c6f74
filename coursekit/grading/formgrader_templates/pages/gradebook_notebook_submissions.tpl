{%- extends 'nbgrader/gradebook_notebook_submissions.tpl' -%}
{#- nbgrader's page without inline script: its variables are data- attributes of page.js (base.tpl). -#}
{%- block page_vars %} data-assignment_id="{{ assignment_id }}" data-notebook_id="{{ notebook_id }}"{% endblock -%}
{%- block head -%}
<script src="{{ base_url }}/formgrader/static/js/gradebook_notebook_submissions.js"></script>
{%- endblock head -%}
{%- block messages -%}
<button id="toggle_names">Show All Names</button>
{%- endblock -%}
