{%- extends 'nbgrader/gradebook_notebooks.tpl' -%}
{#- nbgrader's page without inline script: its variables are data- attributes of page.js (base.tpl). -#}
{%- block page_vars %} data-assignment_id="{{ assignment_id }}"{% endblock -%}
{%- block head -%}
<script src="{{ base_url }}/formgrader/static/js/gradebook_notebooks.js"></script>
{%- endblock head -%}

