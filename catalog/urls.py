from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("categories/", views.category_index, name="categories"),
    path("categories/<slug:slug>/", views.category_detail, name="category"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
    path("products/<slug:slug>/image.svg", views.product_image, name="product_image"),
    path("search/", views.search, name="search"),
]
